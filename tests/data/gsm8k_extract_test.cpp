// GSM8K answer extraction: lm-eval's strict-match and flexible-extract filters and its
// exact_match normalisation. Expected values were produced with Python's `re` on the task's
// own patterns, so quirks (a trailing "." kept by the filter, "..." counting as a number) are
// reproduced, not fixed.
#include "statetune/data/gsm8k_extract.h"

#include <gtest/gtest.h>

namespace {

using namespace statetune::data;

struct Row {
  const char* completion;
  const char* strict;
  const char* flexible;
  const char* gold;  // the reference number (text after "#### ")
  bool strict_ok;
  bool flexible_ok;
};

const Row kTable[] = {
    {"#### 42", "42", "42", "42", true, true},
    {"He pays $1,234.50 in total.\n#### 1,234.50", "1,234.50", "1,234.50", "1234.50", true, true},
    {"So she has -5 apples.\n#### -5", "-5", "-5", "-5", true, true},
    {"The total is $18.", "[invalid]", "$18.", "18", false, true},
    {"No number here.", "[invalid]", "[invalid]", "3", false, false},
    {"3 + 4 = 7, then 7 * 2 = 14", "[invalid]", "14", "14", false, true},
    {"#### 7 and then #### 8", "7", "8", "7", true, false},  // strict: first; flexible: last
    {"It costs 5 dollars", "[invalid]", "5", "5", false, true},
    {"Answer: 0.5", "[invalid]", "0.5", "0.5", false, true},
    {"x is -3", "[invalid]", "-3", "-3", false, true},
    {"1,000,000 people came", "[invalid]", "1,000,000", "1000000", false, true},
    {"the value is 12.\n\n", "[invalid]", "12.", "12", false, true},
    {"####  9", "[invalid]", "9", "9", false, true},  // two spaces: not the strict format
    {"#### 1,5.0.", "1,5.0.", "1,5.0.", "15.0", true, true},
    {"Wait... what?", "[invalid]", "...", "1", false, false},
    {"It costs -$20 now", "[invalid]", "-$20", "-20", false, true},
    {"", "[invalid]", "[invalid]", "0", false, false},
    {"#### -0.25\nso 1/4", "-0.25", "4", "-0.25", true, false},
    {"#### 12.0", "12.0", "12.0", "12", false, false},  // no numeric comparison, as lm-eval
};

TEST(Gsm8kExtract, StrictAndFlexibleFiltersOnATableOfCompletions) {
  for (const Row& row : kTable) {
    SCOPED_TRACE(row.completion);
    EXPECT_EQ(gsm8k_strict(row.completion), row.strict);
    EXPECT_EQ(gsm8k_flexible(row.completion), row.flexible);
    EXPECT_EQ(gsm8k_match(gsm8k_strict(row.completion), row.gold), row.strict_ok);
    EXPECT_EQ(gsm8k_match(gsm8k_flexible(row.completion), row.gold), row.flexible_ok);
  }
}

TEST(Gsm8kExtract, NormalisationRemovesCommasDollarsTheWorkingAndOneTrailingPeriod) {
  EXPECT_EQ(gsm8k_normalise("$1,234.50"), "1234.50");
  EXPECT_EQ(gsm8k_normalise("He had 3\n#### 1,000"), "1000");  // the full reference solution
  EXPECT_EQ(gsm8k_normalise("a #### b #### 1,0."), "10");      // up to the last "#### "
  EXPECT_EQ(gsm8k_normalise("7.."), "7.");
  EXPECT_EQ(gsm8k_normalise("5.\n"), "5\n");  // Python's "$" matches before a final newline
  EXPECT_EQ(gsm8k_normalise("[INVALID]"), "[invalid]");
  // The gold as the reader keeps it matches the whole upstream answer normalised.
  EXPECT_TRUE(gsm8k_match("1,234", "Total 1,000 + 234\n#### 1,234"));
}

TEST(Gsm8kExtract, GenerationIsCutBeforeTheFirstStopSequence) {
  const std::vector<std::string> stop{"Question:", "</s>", "<|im_end|>"};
  EXPECT_EQ(cut_at_stop(" 2+2=4\n#### 4\n\nQuestion: next", stop), " 2+2=4\n#### 4\n\n");
  EXPECT_EQ(cut_at_stop(" 4</s>Question:", stop), " 4");
  EXPECT_EQ(cut_at_stop(" no stop", stop), " no stop");
}

}  // namespace
