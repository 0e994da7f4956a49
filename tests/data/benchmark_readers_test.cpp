// The benchmark readers: the shared developer subsets read with the right counts and fields,
// and every kind of malformed input named by file and line (or skipped and counted).
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "statetune/data/arc_reader.h"
#include "statetune/data/gsm8k_reader.h"
#include "statetune/data/mmlu_reader.h"
#include "statetune/data/winogrande_reader.h"
#include "test_paths.h"

namespace {

using namespace statetune::data;
using statetune::testing::expect_error;

std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

const ReadOptions kSkip{OnError::skip};

// ---- shared files --------------------------------------------------------------------

TEST(ArcReader, ReadsTheSharedSplitsWithLetterAndDigitLabels) {
  SHARED_OR_SKIP(eval, "data/benchmarks/arc_challenge/eval.jsonl");
  SHARED_OR_SKIP(train, "data/benchmarks/arc_challenge/train.jsonl");
  const auto e = read_arc(eval);
  EXPECT_EQ(e.items.size(), 100u);
  EXPECT_EQ(e.skipped, 0u);
  EXPECT_EQ(read_arc(train).items.size(), 200u);
  const ArcItem& first = e.items[0];
  EXPECT_EQ(first.id, "Mercury_SC_407695");
  EXPECT_EQ(first.choices.size(), 4u);
  EXPECT_EQ(first.choices[3], "Record the details of the investigation.");
  EXPECT_EQ(first.gold, 3);  // answerKey "D"
  EXPECT_EQ(first.source, eval + ":1");
  bool saw_digits = false, saw_three = false;
  for (const ArcItem& item : e.items) {
    if (item.id == "NYSEDREGENTS_2014_8_38") {  // labels 1-4, answerKey "1"
      saw_digits = true;
      EXPECT_EQ(item.labels, (std::vector<std::string>{"1", "2", "3", "4"}));
      EXPECT_EQ(item.gold, 0);
    }
    if (item.id == "NYSEDREGENTS_2014_4_4") {  // three choices, answerKey "A"
      saw_three = true;
      EXPECT_EQ(item.choices.size(), 3u);
      EXPECT_EQ(item.gold, 0);
    }
  }
  EXPECT_TRUE(saw_digits);
  EXPECT_TRUE(saw_three);
}

TEST(Gsm8kReader, ReadsTheSharedSplitsAndTheGoldNumber) {
  SHARED_OR_SKIP(eval, "data/benchmarks/gsm8k/eval.jsonl");
  SHARED_OR_SKIP(train, "data/benchmarks/gsm8k/train.jsonl");
  const auto e = read_gsm8k(eval);
  EXPECT_EQ(e.items.size(), 100u);
  EXPECT_EQ(read_gsm8k(train).items.size(), 200u);
  const Gsm8kItem& first = e.items[0];
  EXPECT_EQ(first.id, "eval.jsonl:1");
  EXPECT_EQ(first.question.rfind("Hank reads the newspaper every morning", 0), 0u);
  EXPECT_EQ(first.gold_number, "810");
  EXPECT_EQ(first.answer.substr(first.answer.size() - 9), "\n#### 810");
}

TEST(WinograndeReader, ReadsTheSharedSplits) {
  SHARED_OR_SKIP(eval, "data/benchmarks/winogrande/eval.jsonl");
  SHARED_OR_SKIP(train, "data/benchmarks/winogrande/train.jsonl");
  const auto e = read_winogrande(eval);
  EXPECT_EQ(e.items.size(), 100u);
  EXPECT_EQ(read_winogrande(train).items.size(), 200u);
  const WinograndeItem& first = e.items[0];
  EXPECT_EQ(first.id, "335HHSX8CFJQLE9YDCI2V4FMTX7DHO-1");
  EXPECT_EQ(first.sentence, "Amy prefers cooking the food over ordering it, because the _ is cheaper in the long term.");
  EXPECT_EQ(first.option1, "cooking");
  EXPECT_EQ(first.option2, "ordering");
  EXPECT_EQ(first.gold, 0);
  EXPECT_EQ(e.items[1].gold, 1);
}

TEST(MmluReader, ReadsEverySubjectOfTheSharedSplitsWithQuotedMultilineFields) {
  SHARED_OR_SKIP(eval, "data/benchmarks/mmlu/eval");
  SHARED_OR_SKIP(train, "data/benchmarks/mmlu/train");
  const auto e = read_mmlu(eval, "test");
  const auto t = read_mmlu(train, "dev");
  EXPECT_EQ(e.items.size(), 114u);  // 57 subjects x 2
  EXPECT_EQ(t.items.size(), 285u);  // 57 subjects x 5
  EXPECT_EQ(e.skipped + t.skipped, 0u);
  const MmluItem& first = e.items[0];  // subjects in name order
  EXPECT_EQ(first.subject, "abstract_algebra");
  EXPECT_EQ(first.id, "abstract_algebra/0");
  EXPECT_EQ(first.question, "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.");
  EXPECT_EQ(first.choices, (std::vector<std::string>{"0", "4", "2", "6"}));
  EXPECT_EQ(first.gold, 1);
  EXPECT_EQ(first.source, eval + "/abstract_algebra_test.csv:2");
  // Quoted fields holding commas and newlines.
  bool saw_multiline = false;
  for (const MmluItem& item : e.items) {
    if (item.id == "high_school_european_history/0") {
      saw_multiline = true;
      EXPECT_EQ(item.question.rfind("This question refers to the following information.\nIn order to make the title of",
                                    0),
                0u);
      EXPECT_EQ(item.gold, 2);
    }
  }
  EXPECT_TRUE(saw_multiline);
  const MmluItem& dev = t.items[1];
  EXPECT_EQ(dev.id, "abstract_algebra/1");
  EXPECT_EQ(dev.choices[0], "True, True");
  EXPECT_EQ(dev.gold, 1);
  EXPECT_EQ(mmlu_subject_name("high_school_european_history"), "high school european history");
}

// ---- other accepted forms -------------------------------------------------------------

TEST(MmluReader, AcceptsTheOriginalHeaderlessFormWithLetters) {
  const std::string dir = statetune::testing::temp_dir("mmlu_headerless");
  const std::string path = write(dir, "virology_test.csv",
                                 "What is a virus?,A cell,\"A particle, small\",A plant,A fungus,B\n"
                                 "\"Two\nlines\",w,x,y,z,D\r\n");
  const auto r = read_mmlu_file(path);
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].subject, "virology");
  EXPECT_EQ(r.items[0].choices[1], "A particle, small");
  EXPECT_EQ(r.items[0].gold, 1);
  EXPECT_EQ(r.items[1].question, "Two\nlines");
  EXPECT_EQ(r.items[1].gold, 3);
  EXPECT_EQ(r.items[1].source, path + ":2");
}

TEST(WinograndeReader, TakesAnswersFromASeparateLabelsFile) {
  const std::string dir = statetune::testing::temp_dir("wino_labels");
  const std::string data = write(dir, "dev.jsonl",
                                 R"({"qID": "a", "sentence": "X _ y.", "option1": "p", "option2": "q"})" "\n"
                                 R"({"qID": "b", "sentence": "Z _ w.", "option1": "r", "option2": "s"})" "\n");
  const auto r = read_winogrande(data, {}, write(dir, "dev-labels.lst", "2\n1\n"));
  ASSERT_EQ(r.items.size(), 2u);
  EXPECT_EQ(r.items[0].gold, 1);
  EXPECT_EQ(r.items[1].gold, 0);
  expect_error([&] { read_winogrande(data, {}, write(dir, "short.lst", "2\n")); }, "1 labels for 2 records");
  expect_error([&] { read_winogrande(data, {}, write(dir, "bad.lst", "2\n3\n")); },
               dir + "/bad.lst:2: answer must be \"1\" or \"2\", got \"3\"");
  expect_error([&] { read_winogrande(data); }, data + ":1: missing field \"answer\"");
}

// ---- malformed input: each case names file and line -----------------------------------

struct BadLine {
  const char* name;
  std::string line;
  std::string message;
};

TEST(ArcReader, EveryMalformedRecordNamesFileAndLine) {
  const std::string dir = statetune::testing::temp_dir("arc_bad");
  const std::string good =
      R"({"id": "q1", "question": {"stem": "S?", "choices": [{"text": "a", "label": "A"}, {"text": "b", "label": "B"}]}, "answerKey": "B"})";
  const BadLine cases[] = {
      {"json", R"({"id": "q2", "question": )", "not valid JSON"},
      {"array", "[1, 2]", "expected a JSON object, got array"},
      {"no_id", R"({"question": {"stem": "S", "choices": []}, "answerKey": "A"})", "missing field \"id\""},
      {"no_stem", R"({"id": "q", "question": {"choices": []}, "answerKey": "A"})", "question: missing field \"stem\""},
      {"no_choices", R"({"id": "q", "question": {"stem": "S"}, "answerKey": "A"})",
       "missing field \"question.choices\""},
      {"one_choice", R"({"id": "q", "question": {"stem": "S", "choices": [{"text": "a", "label": "A"}]}, "answerKey": "A"})",
       "expected at least 2 choices, got 1"},
      {"no_label", R"({"id": "q", "question": {"stem": "S", "choices": [{"text": "a"}, {"text": "b", "label": "B"}]}, "answerKey": "A"})",
       "question.choices[0]: missing field \"label\""},
      {"key", R"({"id": "q", "question": {"stem": "S", "choices": [{"text": "a", "label": "A"}, {"text": "b", "label": "B"}]}, "answerKey": "E"})",
       "answerKey \"E\" is not one of the labels A,B"},
      {"not_string", R"({"id": 7, "question": {"stem": "S", "choices": []}, "answerKey": "A"})",
       "field \"id\" must be a string, got number"},
  };
  for (const BadLine& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = write(dir, std::string(c.name) + ".jsonl", good + "\n\n" + c.line + "\n" + good + "\n");
    expect_error([&] { read_arc(path); }, path + ":3: " + c.message);
    const auto skipped = read_arc(path, kSkip);
    EXPECT_EQ(skipped.items.size(), 2u);
    EXPECT_EQ(skipped.skipped, 1u);
    ASSERT_EQ(skipped.skip_messages.size(), 1u);
    EXPECT_NE(skipped.skip_messages[0].find(path + ":3: " + c.message), std::string::npos);
  }
  expect_error([&] { read_arc(dir + "/absent.jsonl"); }, dir + "/absent.jsonl: cannot open the file");
}

TEST(Gsm8kReader, EveryMalformedRecordNamesFileAndLine) {
  const std::string dir = statetune::testing::temp_dir("gsm8k_bad");
  const std::string good = R"({"question": "1+1?", "answer": "1+1=2\n#### 2"})";
  const BadLine cases[] = {
      {"json", R"({"question": "x", "answer": )", "not valid JSON"},
      {"no_question", R"({"answer": "#### 2"})", "missing field \"question\""},
      {"no_answer", R"({"question": "x"})", "missing field \"answer\""},
      {"no_hashes", R"({"question": "x", "answer": "it is 2"})", "answer has no final \"#### <number>\" line"},
  };
  for (const BadLine& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = write(dir, std::string(c.name) + ".jsonl", good + "\n" + c.line + "\n");
    expect_error([&] { read_gsm8k(path); }, path + ":2: " + c.message);
    const auto skipped = read_gsm8k(path, kSkip);
    EXPECT_EQ(skipped.items.size(), 1u);
    EXPECT_EQ(skipped.skipped, 1u);
  }
}

TEST(WinograndeReader, EveryMalformedRecordNamesFileAndLine) {
  const std::string dir = statetune::testing::temp_dir("wino_bad");
  const std::string good = R"({"qID": "a", "sentence": "X _ y.", "option1": "p", "option2": "q", "answer": "1"})";
  const BadLine cases[] = {
      {"json", "{\"qID\": ", "not valid JSON"},
      {"no_blank", R"({"qID": "a", "sentence": "No blank.", "option1": "p", "option2": "q", "answer": "1"})",
       "sentence has no \"_\" blank"},
      {"no_option2", R"({"qID": "a", "sentence": "X _ y.", "option1": "p", "answer": "1"})",
       "missing field \"option2\""},
      {"answer", R"({"qID": "a", "sentence": "X _ y.", "option1": "p", "option2": "q", "answer": "3"})",
       "answer must be \"1\" or \"2\", got \"3\""},
  };
  for (const BadLine& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = write(dir, std::string(c.name) + ".jsonl", c.line + "\n" + good + "\n");
    expect_error([&] { read_winogrande(path); }, path + ":1: " + c.message);
    const auto skipped = read_winogrande(path, kSkip);
    EXPECT_EQ(skipped.items.size(), 1u);
    EXPECT_EQ(skipped.skipped, 1u);
  }
}

TEST(MmluReader, EveryMalformedRecordNamesFileAndLine) {
  const std::string dir = statetune::testing::temp_dir("mmlu_bad");
  const std::string header = "question,choice0,choice1,choice2,choice3,answer\n";
  const std::string good = "Q?,a,b,c,d,2\n";
  const BadLine cases[] = {
      {"columns", "Q?,a,b,c,2\n", "expected 6 columns (question, 4 choices, answer), got 5"},
      {"too_many", "Q?,a,b,c,d,e,2\n", "expected 6 columns (question, 4 choices, answer), got 7"},
      {"range", "Q?,a,b,c,d,4\n", "answer must be an index 0-3, got \"4\""},
      {"letter", "Q?,a,b,c,d,B\n", "answer must be an index 0-3, got \"B\""},
      {"quote", "\"Q\"x,a,b,c,d,1\n", "unexpected text after a closing quote"},
  };
  for (const BadLine& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = write(dir, std::string(c.name) + "_test.csv", header + good + c.line + good);
    expect_error([&] { read_mmlu_file(path); }, path + ":3: " + c.message);
    const auto skipped = read_mmlu_file(path, kSkip);
    EXPECT_EQ(skipped.items.size(), 2u);
    EXPECT_EQ(skipped.skipped, 1u);
    EXPECT_EQ(skipped.items[1].id, c.name + std::string("/2"));  // indices keep file order
  }
  const std::string unterminated = write(dir, "open_test.csv", header + good + "\"Q?,a,b,c,d,1\n" + good);
  expect_error([&] { read_mmlu_file(unterminated); }, unterminated + ":3: unterminated quoted field");
  const std::string headerless = write(dir, "old_test.csv", "Q?,a,b,c,d,E\n");
  expect_error([&] { read_mmlu_file(headerless); }, headerless + ":1: answer must be a letter A-D, got \"E\"");
  const std::string misnamed = write(dir, "questions.csv", header + good);
  expect_error([&] { read_mmlu_file(misnamed); }, misnamed + ": an MMLU file must be named <subject>_test.csv");
  expect_error([&] { read_mmlu(dir + "/../", "nope"); }, "no MMLU files named <subject>_nope.csv");
}

TEST(ReadOptions, OnErrorParsesTheConfigValues) {
  EXPECT_EQ(parse_on_error("skip"), OnError::skip);
  EXPECT_EQ(parse_on_error("fail"), OnError::fail);
  expect_error([] { parse_on_error("ignore"); }, "on_error: expected \"fail\" or \"skip\", got \"ignore\"");
}

}  // namespace
