// End-to-end: `statetune eval` as a user runs it, on a tiny random model with a byte-level
// vocabulary and small benchmark files written by the test.
#include <gtest/gtest.h>

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

std::vector<nlohmann::json> json_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

class EvalCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("eval_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    std::ofstream arc(dir_ + "/eval.jsonl");
    for (int i = 0; i < 6; ++i) arc << arc_line(i) << "\n";
    arc.close();
    std::ofstream train(dir_ + "/train.jsonl");
    for (int i = 10; i < 14; ++i) train << arc_line(i) << "\n";
    train.close();
    CommandResult r =
        run_statetune("init-model --layers 2 --dim 64 --head-size 16 --vocab 300 --seed 3 --out " + dir_ + "/m.pth");
    ASSERT_EQ(r.code, 0) << r.output;
  }
  static std::string eval(const std::string& extra) {
    return "eval --model " + dir_ + "/m.pth --vocab " + dir_ + "/vocab.txt --threads 1 " + extra;
  }
  static std::string dir_;
};
std::string EvalCli::dir_;

TEST_F(EvalCli, ArcWritesPromptsPerItemJsonAndASummary) {
  CommandResult r = run_statetune(eval("--benchmark arc_challenge --data " + dir_ +
                                       "/eval.jsonl --num-fewshot 2 --limit 4 --write-out 1 --json " + dir_ +
                                       "/arc.jsonl"));
  ASSERT_EQ(r.code, 0) << r.output;
  // The first prompt as scored: two shots from train.jsonl, then the question.
  EXPECT_NE(r.output.find("--- context (shared by all choices):\nQuestion: Which gas do plants take in 1"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Answer: carbon dioxide\n\nQuestion: Which gas do plants take in 0?\nAnswer:\n--- end"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--- choice 1 continuation: \" carbon dioxide\""), std::string::npos);
  EXPECT_NE(r.output.find("items/s"), std::string::npos);
  EXPECT_NE(r.output.find("acc_norm"), std::string::npos);
  const auto lines = json_lines(dir_ + "/arc.jsonl");
  ASSERT_EQ(lines.size(), 4u);  // --limit
  EXPECT_EQ(lines[0]["id"], "q0");
  EXPECT_EQ(lines[0]["loglik"].size(), 3u);
  EXPECT_EQ(lines[0]["gold"], 1);
  EXPECT_EQ(lines[0]["correct"], lines[0]["pred"] == 1);
}

TEST_F(EvalCli, SharingTheContextChangesNoLoglik) {
  ASSERT_EQ(run_statetune(eval("--benchmark arc --data " + dir_ + "/eval.jsonl --json " + dir_ + "/a.jsonl")).code, 0);
  ASSERT_EQ(run_statetune(
                eval("--benchmark arc --data " + dir_ + "/eval.jsonl --no-share-context --json " + dir_ + "/b.jsonl"))
                .code,
            0);
  const auto a = json_lines(dir_ + "/a.jsonl"), b = json_lines(dir_ + "/b.jsonl");
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t c = 0; c < 3; ++c)
      EXPECT_NEAR(a[i]["loglik"][c].get<double>(), b[i]["loglik"][c].get<double>(), 1e-4);
}

TEST_F(EvalCli, MalformedDataFailsNamingFileAndLineOrIsSkippedAndCounted) {
  const std::string bad = dir_ + "/bad.jsonl";
  std::ofstream(bad) << arc_line(1) << "\n{\"id\": \"x\"}\n";
  CommandResult r = run_statetune(eval("--benchmark arc_challenge --data " + bad));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find(bad + ":2: missing field \"question\""), std::string::npos) << r.output;
  r = run_statetune(eval("--benchmark arc_challenge --data " + bad + " --on-error skip"));
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("skipped 1 malformed record(s)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 items"), std::string::npos) << r.output;
  EXPECT_EQ(run_statetune(eval("--benchmark hellaswag --data " + bad)).code, 1);
}

TEST_F(EvalCli, MmluReportsEverySubject) {
  SHARED_OR_SKIP(mmlu, "data/benchmarks/mmlu/eval/anatomy_test.csv");
  CommandResult r = run_statetune(eval("--benchmark mmlu --data " + mmlu + " --num-fewshot 1"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("anatomy"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("benchmark mmlu: 2 items, 1-shot"), std::string::npos) << r.output;
}

}  // namespace
