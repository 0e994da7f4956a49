// End-to-end: `statetune guide-traces` as a user runs it, on a tiny random guide with a
// byte-level vocabulary and small benchmark files written by the test; the file it writes is
// read back (guide-traces --check, i.e. data::read_guide_traces) with the same tokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "tiny_inputs.h"
#include "test_paths.h"

namespace {

using statetune::testing::arc_line;

using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class GuideTracesCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("guide_traces_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    std::ofstream arc(dir_ + "/eval.jsonl");
    for (int i = 0; i < 4; ++i) arc << arc_line(i) << "\n";
    arc.close();
    std::ofstream train(dir_ + "/train.jsonl");
    for (int i = 10; i < 13; ++i) train << arc_line(i) << "\n";
    train.close();
    std::ofstream gsm(dir_ + "/gsm8k.jsonl");
    for (int i = 0; i < 2; ++i)
      gsm << fmt::format(R"({{"question": "Tom has {} apples and buys 2 more. How many?", "answer": "{} + 2 = {}\n#### {}"}})",
                         i, i, i + 2, i + 2)
          << "\n";
    gsm.close();
    std::ofstream wino(dir_ + "/wino.jsonl");
    wino << R"({"qID": "w1", "sentence": "The trophy did not fit in the case because the _ was too big.", )"
         << R"("option1": "trophy", "option2": "tray", "answer": "1"})" << "\n";
    wino.close();
    CommandResult r =
        run_statetune("init-model --layers 2 --dim 64 --head-size 16 --vocab 300 --seed 3 --out " + dir_ + "/m.pth");
    ASSERT_EQ(r.code, 0) << r.output;
  }
  static std::string traces(const std::string& extra) {
    return "guide-traces --guide " + dir_ + "/m.pth --vocab " + dir_ + "/vocab.txt --threads 1 --max-tokens 12 " +
           extra;
  }
  static std::string check(const std::string& file) {
    return "guide-traces --check " + file + " --vocab " + dir_ + "/vocab.txt";
  }
  static std::string dir_;
};
std::string GuideTracesCli::dir_;

TEST_F(GuideTracesCli, WritesOneLinePerItemThatReadsBackWithTheSameTokenizer) {
  const std::string out = dir_ + "/arc_traces.jsonl";
  CommandResult r = run_statetune(traces("--benchmark arc_challenge --data " + dir_ +
                                         "/eval.jsonl --num-fewshot 1 --limit 3 --top-k 4 --write-out 1 --out " + out));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters 0.7 MiB"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[guide-traces] 3/3 items"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("guide tokens per question: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("wall time"), std::string::npos) << r.output;
  // The guide reads the question as eval renders it (a shot from train.jsonl first), never its answer.
  EXPECT_NE(r.output.find("--- prompt:\nQuestion: Which gas do plants take in 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Answer: carbon dioxide\n\nQuestion: Which gas do plants take in 0?\nAnswer:\n--- end"),
            std::string::npos)
      << r.output;

  const std::vector<std::string> lines = lines_of(out);
  ASSERT_EQ(lines.size(), 3u);  // --limit
  for (size_t i = 0; i < lines.size(); ++i) {
    const nlohmann::json j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j.at("id"), fmt::format("q{}", i));
    EXPECT_EQ(j.at("guide"), "m.pth");
    const std::string text = j.at("text").get<std::string>();
    EXPECT_EQ(text.find("\n\n"), std::string::npos) << "the text is cut before the stop sequence";
    const auto tokens = j.at("logprobs").at("tokens").get<std::vector<int>>();
    ASSERT_EQ(tokens.size(), text.size()) << "the byte vocabulary: one token per byte";
    for (size_t t = 0; t < tokens.size(); ++t) EXPECT_EQ(tokens[t], static_cast<unsigned char>(text[t]) + 1);
    const nlohmann::json& top = j.at("logprobs").at("top_logprobs");
    ASSERT_EQ(top.size(), tokens.size());
    for (const nlohmann::json& list : top) {
      ASSERT_EQ(list.size(), 4u);  // --top-k
      for (const nlohmann::json& pair : list) {
        EXPECT_LT(pair[0].get<int>(), 257) << "only the tokenizer's ids, not the checkpoint's padding rows";
        EXPECT_LE(pair[1].get<double>(), 0.0);
      }
      EXPECT_GE(list[0][1].get<double>(), list[3][1].get<double>()) << "most likely first";
    }
  }
  CommandResult c = run_statetune(check(out));
  EXPECT_EQ(c.code, 0) << c.output;
  EXPECT_NE(c.output.find(out + ": 3 traces, 3 with log-probs"), std::string::npos) << c.output;
}

TEST_F(GuideTracesCli, SamplingIsSeededPerItem) {
  const std::string data = " --benchmark arc --data " + dir_ + "/eval.jsonl --temperature 1 ";
  ASSERT_EQ(run_statetune(traces(data + "--seed 5 --out " + dir_ + "/s5.jsonl")).code, 0);
  ASSERT_EQ(run_statetune(traces(data + "--seed 5 --limit 2 --out " + dir_ + "/s5_first2.jsonl")).code, 0);
  ASSERT_EQ(run_statetune(traces(data + "--seed 6 --out " + dir_ + "/s6.jsonl")).code, 0);
  const auto all = lines_of(dir_ + "/s5.jsonl"), first = lines_of(dir_ + "/s5_first2.jsonl"),
             other = lines_of(dir_ + "/s6.jsonl");
  ASSERT_EQ(all.size(), 4u);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0], all[0]) << "an item's draw does not depend on --limit";
  EXPECT_EQ(first[1], all[1]);
  EXPECT_NE(other, all) << "another seed, other samples";
}

TEST_F(GuideTracesCli, GenerationAndWinograndePrompts) {
  CommandResult g = run_statetune(traces("--benchmark gsm8k --data " + dir_ + "/gsm8k.jsonl --num-fewshot 0 " +
                                         "--write-out 1 --out " + dir_ + "/gsm.jsonl"));
  ASSERT_EQ(g.code, 0) << g.output;
  EXPECT_NE(g.output.find("--- prompt:\nQuestion: Tom has 0 apples and buys 2 more. How many?\nAnswer:\n--- end"),
            std::string::npos)
      << g.output;
  EXPECT_NE(g.output.find("--- stop: \"Question:\" \"</s>\" \"<|im_end|>\" \"\\n\\n\""), std::string::npos)
      << g.output;
  EXPECT_EQ(lines_of(dir_ + "/gsm.jsonl").size(), 2u);
  EXPECT_NE(g.output.find("(gsm8k, 0-shot prompts)"), std::string::npos) << g.output;

  // WinoGrande: the sentence up to the blank, no option in it.
  CommandResult w = run_statetune(
      traces("--benchmark winogrande --data " + dir_ + "/wino.jsonl --write-out 1 --out " + dir_ + "/wino_t.jsonl"));
  ASSERT_EQ(w.code, 0) << w.output;
  EXPECT_NE(w.output.find("--- prompt:\nThe trophy did not fit in the case because the\n--- end"), std::string::npos)
      << w.output;
  EXPECT_EQ(run_statetune(check(dir_ + "/wino_t.jsonl")).code, 0);
}

TEST_F(GuideTracesCli, AWrongTokenIdIsRefusedNamingTheLine) {
  const std::string out = dir_ + "/good.jsonl";
  ASSERT_EQ(run_statetune(traces("--benchmark arc --data " + dir_ + "/eval.jsonl --limit 3 --out " + out)).code, 0);
  std::vector<std::string> lines = lines_of(out);
  ASSERT_EQ(lines.size(), 3u);
  nlohmann::json j = nlohmann::json::parse(lines[1]);
  ASSERT_FALSE(j["logprobs"]["tokens"].empty());
  const int first = j["logprobs"]["tokens"][0].get<int>();
  j["logprobs"]["tokens"][0] = first == 66 ? 67 : 66;  // another byte's id: not the encoding of the text
  lines[1] = j.dump();
  const std::string bad = dir_ + "/bad.jsonl";
  std::ofstream(bad) << lines[0] << "\n" << lines[1] << "\n" << lines[2] << "\n";
  CommandResult r = run_statetune(check(bad));
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find(bad + ":2: logprobs.tokens are not the tokenizer's encoding of text"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("was it made with another tokenizer?"), std::string::npos) << r.output;
}

TEST_F(GuideTracesCli, BadInvocationsFailAndWriteNothing) {
  const std::string out = dir_ + "/never.jsonl";
  CommandResult r = run_statetune("guide-traces --vocab " + dir_ + "/vocab.txt --benchmark arc --data " + dir_ +
                                  "/eval.jsonl --out " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("--guide is required"), std::string::npos) << r.output;
  // A missing folder is made; one that cannot be (a file on the way) is refused before the guide loads.
  r = run_statetune(traces("--benchmark arc --data " + dir_ + "/eval.jsonl --out " + dir_ + "/eval.jsonl/t.jsonl"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("--out " + dir_ + "/eval.jsonl/t.jsonl: " + dir_ + "/eval.jsonl is a file, not a folder"),
            std::string::npos)
      << r.output;
  r = run_statetune(traces("--benchmark hellaswag --data " + dir_ + "/eval.jsonl --out " + out));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(run_statetune(check(dir_ + "/missing.jsonl")).output.find("cannot open the guide-trace file"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
