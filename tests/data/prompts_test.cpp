// Prompt rendering, character for character as lm-evaluation-harness v0.4 renders it. The
// expected strings are written out by hand from the task definitions (issue 5), separators
// and all, so a change to any of them shows up here.
#include "statetune/data/prompts.h"

#include <gtest/gtest.h>

#include "statetune/data/arc_reader.h"
#include "test_paths.h"

namespace {

using namespace statetune::data;

ArcItem arc(const std::string& stem, std::vector<std::string> choices, int gold) {
  ArcItem item;
  item.id = "arc-" + stem.substr(0, 3);
  item.stem = stem;
  item.choices = std::move(choices);
  item.labels = {"A", "B", "C", "D"};
  item.gold = gold;
  return item;
}

TEST(Prompts, ArcZeroAndFewShot) {
  const ArcItem item = arc("Which gas do plants take in?", {"oxygen", "carbon dioxide", "helium", "neon"}, 1);
  const McRequest zero = render_arc(item);
  EXPECT_EQ(zero.contexts, (std::vector<std::string>{"Question: Which gas do plants take in?\nAnswer:"}));
  EXPECT_EQ(zero.continuations, (std::vector<std::string>{" oxygen", " carbon dioxide", " helium", " neon"}));
  EXPECT_EQ(zero.norm_lengths, (std::vector<double>{6, 14, 6, 4}));  // len(choice), no leading space
  EXPECT_EQ(zero.gold, 1);

  const std::vector<ArcItem> shots{arc("What melts ice?", {"heat", "cold"}, 0), arc("Sky colour?", {"red", "blue"}, 1)};
  const McRequest two = render_arc(item, shots);
  EXPECT_EQ(two.contexts[0],
            "Question: What melts ice?\nAnswer: heat\n\n"
            "Question: Sky colour?\nAnswer: blue\n\n"
            "Question: Which gas do plants take in?\nAnswer:");
  EXPECT_EQ(two.continuations, zero.continuations);
}

TEST(Prompts, ArcFirstSharedItemAsScored) {
  SHARED_OR_SKIP(eval, "data/benchmarks/arc_challenge/eval.jsonl");
  const McRequest r = render_arc(read_arc(eval).items[0]);
  EXPECT_EQ(r.context(2),
            "Question: Juan and LaKeisha roll a few objects down a ramp. They want to see which object rolls the "
            "farthest. What should they do so they can repeat their investigation?\nAnswer:");
  EXPECT_EQ(r.continuation(2), " Choose different objects to roll.");
  EXPECT_EQ(r.id, "Mercury_SC_407695");
}

MmluItem mmlu(const std::string& question, std::vector<std::string> choices, int gold) {
  MmluItem item;
  item.subject = "high_school_biology";
  item.id = "high_school_biology/0";
  item.question = question;
  item.choices = std::move(choices);
  item.gold = gold;
  return item;
}

TEST(Prompts, MmluZeroAndFewShot) {
  // The question is stripped; the choices are not.
  const MmluItem item = mmlu("  What carries oxygen?\n", {"Platelets", "Red cells", "Plasma", " Neurons"}, 1);
  const McRequest zero = render_mmlu(item);
  EXPECT_EQ(zero.contexts[0],
            "The following are multiple choice questions (with answers) about high school biology.\n\n"
            "What carries oxygen?\nA. Platelets\nB. Red cells\nC. Plasma\nD.  Neurons\nAnswer:");
  EXPECT_EQ(zero.continuations, (std::vector<std::string>{" A", " B", " C", " D"}));
  EXPECT_EQ(zero.norm_lengths, (std::vector<double>{1, 1, 1, 1}));
  EXPECT_EQ(zero.subject, "high_school_biology");

  const std::vector<MmluItem> shots{mmlu(" Cells are made of?", {"atoms", "rocks", "air", "fire"}, 0),
                                    mmlu("DNA is a?", {"lipid", "sugar", "nucleic acid", "salt"}, 2)};
  EXPECT_EQ(render_mmlu(item, shots).contexts[0],
            "The following are multiple choice questions (with answers) about high school biology.\n\n"
            "Cells are made of?\nA. atoms\nB. rocks\nC. air\nD. fire\nAnswer: A\n\n"
            "DNA is a?\nA. lipid\nB. sugar\nC. nucleic acid\nD. salt\nAnswer: C\n\n"
            "What carries oxygen?\nA. Platelets\nB. Red cells\nC. Plasma\nD.  Neurons\nAnswer:");
}

WinograndeItem wino(const std::string& sentence, const std::string& o1, const std::string& o2, int gold) {
  WinograndeItem item;
  item.id = "w";
  item.sentence = sentence;
  item.option1 = o1;
  item.option2 = o2;
  item.gold = gold;
  return item;
}

TEST(Prompts, WinograndeZeroAndFewShotPartialScoring) {
  const WinograndeItem item = wino("Amy prefers cooking over ordering, because the _ is cheaper. ", "cooking", "ordering", 0);
  const McRequest zero = render_winogrande(item);
  EXPECT_EQ(zero.contexts, (std::vector<std::string>{"Amy prefers cooking over ordering, because the cooking",
                                                     "Amy prefers cooking over ordering, because the ordering"}));
  EXPECT_EQ(zero.continuations, (std::vector<std::string>{" is cheaper."}));  // stripped, shared
  EXPECT_EQ(zero.num_choices(), 2u);
  EXPECT_EQ(zero.continuation(1), " is cheaper.");

  const std::vector<WinograndeItem> shots{wino("Tom beat Ann because _ was faster.", "Tom", "Ann", 0),
                                          wino("The cup fell off the shelf as the _ was slippery.", "cup", "shelf", 1)};
  const McRequest two = render_winogrande(item, shots);
  const std::string prefix =
      "Tom beat Ann because Tom was faster.\n\n"
      "The cup fell off the shelf as the shelf was slippery.\n\n";
  EXPECT_EQ(two.contexts, (std::vector<std::string>{prefix + "Amy prefers cooking over ordering, because the cooking",
                                                    prefix + "Amy prefers cooking over ordering, because the ordering"}));
  EXPECT_EQ(two.continuations, zero.continuations);
}

Gsm8kItem gsm(const std::string& question, const std::string& answer) {
  Gsm8kItem item;
  item.question = question;
  item.answer = answer;
  item.gold_number = answer.substr(answer.rfind("#### ") + 5);
  return item;
}

TEST(Prompts, Gsm8kZeroAndFewShot) {
  const Gsm8kItem item = gsm("Tim has 3 apples and eats 1. How many are left?", "3 - 1 = <<3-1=2>>2\n#### 2");
  const GenRequest zero = render_gsm8k(item);
  EXPECT_EQ(zero.prompt, "Question: Tim has 3 apples and eats 1. How many are left?\nAnswer:");
  EXPECT_EQ(zero.stop, (std::vector<std::string>{"Question:", "</s>", "<|im_end|>"}));
  EXPECT_EQ(zero.gold, "2");
  EXPECT_EQ(zero.target, " 3 - 1 = <<3-1=2>>2\n#### 2");

  const std::vector<Gsm8kItem> shots{gsm("What is 2+2?", "2+2=<<2+2=4>>4\n#### 4"),
                                     gsm("Half of 10?", "10/2=<<10/2=5>>5\n#### 5")};
  EXPECT_EQ(render_gsm8k(item, shots).prompt,
            "Question: What is 2+2?\nAnswer: 2+2=<<2+2=4>>4\n#### 4\n\n"
            "Question: Half of 10?\nAnswer: 10/2=<<10/2=5>>5\n#### 5\n\n"
            "Question: Tim has 3 apples and eats 1. How many are left?\nAnswer:");
}

TEST(Prompts, TrainingExamplesTargetTheGoldContinuation) {
  const McRequest arc_request =
      render_arc(arc("Which gas do plants take in?", {"oxygen", "carbon dioxide", "helium", "neon"}, 1));
  const TrainingExample a = training_example(arc_request);
  EXPECT_EQ(a.context, "Question: Which gas do plants take in?\nAnswer:");
  EXPECT_EQ(a.target, " carbon dioxide");
  const TrainingExample w =
      training_example(render_winogrande(wino("Tom beat Ann because _ was faster.", "Tom", "Ann", 1)));
  EXPECT_EQ(w.context, "Tom beat Ann because Ann");
  EXPECT_EQ(w.target, " was faster.");
  const TrainingExample g = training_example(render_gsm8k(gsm("What is 2+2?", "2+2=4\n#### 4")));
  EXPECT_EQ(g.context, "Question: What is 2+2?\nAnswer:");
  EXPECT_EQ(g.target, " 2+2=4\n#### 4");
}

TEST(Prompts, Utf8LengthCountsCharactersLikePython) {
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("café"), 4u);       // é is 2 bytes
  EXPECT_EQ(utf8_length("温度 °C"), 5u);     // 3-byte CJK, 2-byte degree sign
  EXPECT_EQ(utf8_length("🙂"), 1u);
  EXPECT_EQ(utf8_length("\xff" "a"), 2u);  // an invalid byte counts alone
}

TEST(Prompts, StripIsPythonsStrOnUnicodeWhitespace) {
  // Expected values are Python's: "...".strip() (lm-eval's question.strip() and the WinoGrande
  // target's .strip()).
  EXPECT_EQ(strip(" \t\n\r\v\fx y\n "), "x y");
  EXPECT_EQ(strip("\x1c\x1d\x1e\x1fx\x1f"), "x");
  EXPECT_EQ(strip("\u00a0Which one?\u00a0"), "Which one?");           // no-break space
  EXPECT_EQ(strip("\u3000\u2009x\u2028\u0085\u202f\u205f\u1680"), "x");  // ideographic, thin, ...
  EXPECT_EQ(strip("\u200bx\u200b"), "\u200bx\u200b");                  // zero-width space is not whitespace
  EXPECT_EQ(strip("caf\u00e9 \u00e9"), "caf\u00e9 \u00e9");
  EXPECT_EQ(strip("  "), "");
  EXPECT_EQ(strip(""), "");
  EXPECT_EQ(strip("x\xa0"), "x\xa0");  // a stray byte (not UTF-8) is kept, not read as U+00A0
}

}  // namespace
