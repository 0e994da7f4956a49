// End-to-end: no work is lost to a bad output path. Every command that writes makes the
// folders its outputs need, or refuses before any work (model loading, tuning, scoring) with
// one line naming the path and the problem. Tests run as root, so "cannot write here" is a
// path under a regular file, or /proc, never a chmod.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli_runner.h"
#include "test_paths.h"
#include "tiny_inputs.h"

namespace {

namespace fs = std::filesystem;
using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

class OutputPathsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("output_paths_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    statetune::testing::write_plus_one_examples(dir_ + "/train.jsonl", 6);
    std::ofstream arc(dir_ + "/arc.jsonl");
    for (int i = 0; i < 3; ++i) arc << statetune::testing::arc_line(i) << "\n";
    arc.close();
    std::ofstream(dir_ + "/plain.txt") << "a regular file where a folder would have to be\n";
    ASSERT_EQ(run_statetune(fmt::format("init-model --layers 1 --dim 32 --head-size 16 --vocab 300 --seed 1 --out {}/m.pth",
                                        dir_))
                  .code,
              0);
  }
  // A run config in dir_ with `output` and `extra` keys; relative paths resolve against dir_.
  static std::string run_config(const std::string& name, const std::string& output, const std::string& extra = "") {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "model: m.pth\nvocab: vocab.txt\noutput: " << output << "\nsteps: 4\nbatch: 2\nlr: 0.1\n"
                        << extra << "data:\n  benchmark: jsonl\n  train: train.jsonl\n";
    return path;
  }
  // A refusal: exit 1, one line, naming the path and what is wrong with it, and no sign of work.
  static void expect_refused(const CommandResult& r, const std::string& path, const std::string& problem) {
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find("statetune: error: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(path), std::string::npos) << "the message names the path\n" << r.output;
    EXPECT_NE(r.output.find(problem), std::string::npos) << r.output;
    for (const char* work : {"computing on", "data: ", "step ", "[eval]", "[guide-traces]", "init-model:"})
      EXPECT_EQ(r.output.find(work), std::string::npos) << "refused after starting work (" << work << ")\n" << r.output;
  }
  // Everything directly in dir_, to see that a refused command wrote nothing.
  static std::vector<std::string> entries() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  static std::string dir_;
};
std::string OutputPathsCli::dir_;

const char* kUnderFile = "is a file, not a folder";

TEST_F(OutputPathsCli, TuneMakesTheOutputAndCheckpointFolders) {
  const std::string cfg = run_config("nested", "new/a/b/state.pth", "checkpoint: ckpt/c/d/state.ckpt\ncheckpoint_every: 2\n");
  const CommandResult r = run_statetune("tune " + cfg + " --threads 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/new/a/b/state.pth"));
  EXPECT_TRUE(fs::exists(dir_ + "/new/a/b/state.pth.metrics.jsonl"));
  EXPECT_TRUE(fs::exists(dir_ + "/ckpt/c/d/state.ckpt"));
}

TEST_F(OutputPathsCli, TuneRefusesAnImpossibleOutputBeforeLoadingTheModel) {
  const std::string output = dir_ + "/plain.txt/runs/state.pth";
  const std::string under_file = run_config("under_file", output), bad_checkpoint = run_config("bad_ckpt", "fine.pth"),
                    folder = run_config("folder_output", dir_);
  const std::vector<std::string> before = entries();
  // The model does not exist either: the output is checked first, so that is not what is said.
  const CommandResult r = run_statetune("tune " + under_file + " model=" + dir_ + "/no_such_model.pth");
  expect_refused(r, "under_file.yaml: output " + output, dir_ + "/plain.txt " + kUnderFile);
  EXPECT_EQ(r.output.find("no_such_model"), std::string::npos) << r.output;
  const CommandResult c = run_statetune("tune " + bad_checkpoint + " checkpoint=/proc/statetune-test/state.ckpt");
  expect_refused(c, "bad_ckpt.yaml: checkpoint /proc/statetune-test/state.ckpt",
                 "cannot create the folder /proc/statetune-test");
  const CommandResult d = run_statetune("tune " + folder);
  expect_refused(d, "folder_output.yaml: output " + dir_, "is a folder");
  EXPECT_EQ(entries(), before) << "a refused run writes nothing";
}

TEST_F(OutputPathsCli, SweepMakesTheResultsFolderAndRunsMakeTheirs) {
  const std::string sweep = dir_ + "/nested_sweep.yaml";
  std::ofstream(sweep) << "base:\n  model: m.pth\n  vocab: vocab.txt\n  output: sweep_states/x/{hash}.pth\n  steps: 2\n"
                       << "  batch: 2\n  data:\n    benchmark: jsonl\n    train: train.jsonl\ngrid:\n  seed: [0, 1]\n";
  const CommandResult r = run_statetune(fmt::format("sweep {} --out {}/studies/2024/s.h5", sweep, dir_));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/studies/2024/s.h5"));
  size_t states = 0;
  for (const auto& f : fs::directory_iterator(dir_ + "/sweep_states/x")) states += f.path().extension() == ".pth";
  EXPECT_EQ(states, 2u);
}

TEST_F(OutputPathsCli, SweepRefusesARunsImpossibleOutputBeforeTheStudyStarts) {
  const std::string sweep = dir_ + "/bad_sweep.yaml";
  std::ofstream(sweep) << "base:\n  model: m.pth\n  vocab: vocab.txt\n  output: plain.txt/{hash}.pth\n  steps: 2\n"
                       << "  data:\n    benchmark: jsonl\n    train: train.jsonl\ngrid:\n  seed: [0, 1]\n";
  const CommandResult r = run_statetune(fmt::format("sweep {} --out {}/bad_sweep_dir/s.h5", sweep, dir_));
  expect_refused(r, ": output " + dir_ + "/plain.txt/", dir_ + "/plain.txt " + kUnderFile);
  EXPECT_NE(r.output.find("statetune: error: run "), std::string::npos) << "names the run\n" << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/bad_sweep_dir")) << "no study folder or file";

  const CommandResult out = run_statetune(fmt::format("sweep {} --out /proc/statetune-test/s.h5 output={}/ok/{{hash}}.pth",
                                                      sweep, dir_));
  expect_refused(out, "--out /proc/statetune-test/s.h5", "cannot create the folder /proc/statetune-test");
  EXPECT_FALSE(fs::exists(dir_ + "/ok"));
}

TEST_F(OutputPathsCli, EvalJsonGuideTracesAndScoreMakeOrRefuseTheirFolders) {
  const std::string model = fmt::format("--model {0}/m.pth --vocab {0}/vocab.txt --threads 1", dir_);
  const CommandResult e = run_statetune(
      fmt::format("eval {} --benchmark arc_challenge --data {}/arc.jsonl --json {}/evals/run1/items.jsonl", model, dir_,
                  dir_));
  ASSERT_EQ(e.code, 0) << e.output;
  EXPECT_TRUE(fs::exists(dir_ + "/evals/run1/items.jsonl"));
  const CommandResult bad_e = run_statetune(fmt::format("eval {} --benchmark arc_challenge --data {}/arc.jsonl --json {}",
                                                        model, dir_, dir_ + "/plain.txt/items.jsonl"));
  expect_refused(bad_e, "--json " + dir_ + "/plain.txt/items.jsonl", kUnderFile);

  const std::string traces = fmt::format("guide-traces --guide {0}/m.pth --vocab {0}/vocab.txt --threads 1 "
                                         "--benchmark arc_challenge --data {0}/arc.jsonl --max-tokens 3 --out ",
                                         dir_);
  const CommandResult g = run_statetune(traces + dir_ + "/traces/new/t.jsonl");
  ASSERT_EQ(g.code, 0) << g.output;
  EXPECT_TRUE(fs::exists(dir_ + "/traces/new/t.jsonl"));
  const CommandResult bad_g = run_statetune(traces + "/proc/statetune-test/t.jsonl");
  expect_refused(bad_g, "--out /proc/statetune-test/t.jsonl", "cannot create the folder /proc/statetune-test");

  const CommandResult s = run_statetune(
      fmt::format("score --model {0}/m.pth --tokens 0,5,6 --logits-out {0}/logits/a/l.npy", dir_));
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_TRUE(fs::exists(dir_ + "/logits/a/l.npy"));
  const CommandResult bad_s =
      run_statetune(fmt::format("score --model {0}/m.pth --tokens 0,5,6 --logits-out {0}/plain.txt/l.npy", dir_));
  expect_refused(bad_s, "--logits-out " + dir_ + "/plain.txt/l.npy", kUnderFile);
}

TEST_F(OutputPathsCli, InitModelAndDemoMakeOrRefuseTheirFolders) {
  const CommandResult i = run_statetune(
      fmt::format("init-model --layers 1 --dim 32 --head-size 16 --vocab 300 --seed 2 --out {}/models/x/m.pth", dir_));
  ASSERT_EQ(i.code, 0) << i.output;
  EXPECT_TRUE(fs::exists(dir_ + "/models/x/m.pth"));
  const CommandResult bad_i = run_statetune(
      fmt::format("init-model --layers 1 --dim 32 --head-size 16 --vocab 300 --seed 2 --out {}/plain.txt/m.pth", dir_));
  expect_refused(bad_i, "--out " + dir_ + "/plain.txt/m.pth", kUnderFile);

  const CommandResult d = run_statetune(fmt::format("demo --threads 1 --steps 1 --out {}/demos/a/b", dir_));
  ASSERT_EQ(d.code, 0) << d.output;
  EXPECT_TRUE(fs::exists(dir_ + "/demos/a/b/demo-model.pth"));
  const CommandResult bad_d = run_statetune(fmt::format("demo --threads 1 --steps 1 --out {}/plain.txt/demo", dir_));
  expect_refused(bad_d, "--out " + dir_ + "/plain.txt/demo", kUnderFile);
  EXPECT_EQ(bad_d.output.find("prompt -> state distillation"), std::string::npos) << bad_d.output;
}

}  // namespace
