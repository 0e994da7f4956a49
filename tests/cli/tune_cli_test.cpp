// End-to-end: `statetune tune CONFIG.yaml` as a user runs it, on a tiny random model with a
// byte-level vocabulary and a JSONL dataset written by the test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli_runner.h"
#include "tiny_inputs.h"
#include "test_paths.h"

namespace {

using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

class TuneCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("tune_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    std::ofstream data(dir_ + "/train.jsonl");
    for (int i = 0; i < 10; ++i)
      data << fmt::format(R"({{"context": "Question {}: what is {} plus one?\nAnswer:", "target": " {}"}})", i, i, i + 1)
           << "\n";
    data.close();
    ASSERT_EQ(
        run_statetune(
            fmt::format("init-model --layers 2 --dim 64 --head-size 16 --vocab 300 --seed 1 --out {}/m.pth", dir_))
            .code,
        0);
  }
  static std::string write_config(const std::string& name, const std::string& extra) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "model: m.pth\nvocab: vocab.txt\noutput: " << name << ".pth\nsteps: 5\nbatch: 4\n"
                        << "M: 16\nlr: 0.1\ndata:\n  benchmark: jsonl\n  train: train.jsonl\n  eval: train.jsonl\n"
                        << extra;
    return path;
  }
  static std::string dir_;
};
std::string TuneCli::dir_;

TEST_F(TuneCli, EveryMethodTunesSavesAndTheStateScores) {
  for (const char* method : {"standard", "kernel", "dbp"}) {
    const std::string cfg = write_config(method, "");
    CommandResult r = run_statetune(fmt::format("tune {} method={} --threads 2", cfg, method));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("--- resolved config ---"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(fmt::format("method: {}", method)), std::string::npos) << "override must win\n" << r.output;
    EXPECT_NE(r.output.find("after tuning:  eval loss"), std::string::npos) << r.output;
    const std::string state = fmt::format("{}/{}.pth", dir_, method);
    EXPECT_TRUE(std::filesystem::exists(state + ".config.yaml"));
    EXPECT_TRUE(std::filesystem::exists(state + ".metrics.jsonl"));
    CommandResult s = run_statetune(fmt::format("score --model {}/m.pth --tokens 0,5,6,7 --state {}", dir_, state));
    EXPECT_EQ(s.code, 0) << s.output;
    if (std::string(method) == "dbp") {
      EXPECT_NE(r.output.find("L_decor"), std::string::npos) << r.output;
    }
  }
}

TEST_F(TuneCli, BadConfigsAreOneLineErrorsNamingTheLine) {
  const std::string cfg = write_config("bad", "lrr: 3\n");
  CommandResult r = run_statetune("tune " + cfg);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("bad.yaml:12: unknown key 'lrr' (did you mean 'lr'?)"), std::string::npos) << r.output;
  CommandResult t = run_statetune("tune " + write_config("typed", "") + " steps=many");
  EXPECT_EQ(t.code, 1);
  EXPECT_NE(t.output.find("steps=many"), std::string::npos) << t.output;
  EXPECT_NE(t.output.find("expected an integer"), std::string::npos) << t.output;
  std::ofstream(dir_ + "/broken.jsonl") << "{\"context\": \"a\", \"target\": \"b\"}\n{not json\n";
  CommandResult d = run_statetune("tune " + write_config("broken", "") + " data.train=" + dir_ + "/broken.jsonl");
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.output.find("broken.jsonl:2:"), std::string::npos) << d.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/broken.pth")) << "nothing is written on failure";
}

}  // namespace
