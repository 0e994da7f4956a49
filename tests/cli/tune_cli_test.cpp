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

// `output` is optional in a sweep (the study keeps the state) but tune has nowhere else to put it.
TEST_F(TuneCli, AConfigWithoutOutputIsRefusedBeforeAnyWork) {
  const std::string path = dir_ + "/no_output.yaml";
  std::ofstream(path) << "model: missing.pth\nvocab: vocab.txt\nsteps: 5\n"
                      << "data:\n  benchmark: jsonl\n  train: train.jsonl\n";
  CommandResult r = run_statetune("tune " + path);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find(path + ": missing required key 'output'"), std::string::npos) << r.output;
}

// Device placement from the command line and the config. This machine may or may not have a
// GPU: `--device cuda` either computes on cuda:0 or says clearly that there is none.
TEST_F(TuneCli, DeviceAndWeightsPrecisionComeFromFlagsOrKeys) {
  const std::string cfg = write_config("bf16", "");
  CommandResult r = run_statetune("tune " + cfg + " --device cpu --weights-dtype bf16 --threads 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("computing on cpu, bf16 weights"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("weights_dtype: bf16"), std::string::npos) << "the flag is an override\n" << r.output;
  EXPECT_NE(r.output.find("device: cpu"), std::string::npos) << r.output;

  CommandResult auto_cpu = run_statetune("tune " + write_config("fp32", "device: cpu\n") + " --threads 2");
  ASSERT_EQ(auto_cpu.code, 0) << auto_cpu.output;
  EXPECT_NE(auto_cpu.output.find("computing on cpu, fp32 weights"), std::string::npos) << auto_cpu.output;

  const std::string gpu_cfg = write_config("gpu", "device: cuda\n");
  CommandResult g = run_statetune("tune " + gpu_cfg + " --threads 2");
  if (g.code == 0) {
    EXPECT_NE(g.output.find("computing on cuda:0"), std::string::npos) << g.output;
  } else {
    EXPECT_EQ(g.code, 1) << g.output;
    EXPECT_NE(g.output.find("gpu.yaml: device: cuda, but LibTorch sees no CUDA GPU"), std::string::npos) << g.output;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/gpu.pth")) << "nothing is written on failure";
  }
}

TEST_F(TuneCli, BadDeviceChoicesAreUsageErrors) {
  CommandResult d = run_statetune("tune " + write_config("baddev", "") + " --device tpu");
  EXPECT_EQ(d.code, 2) << d.output;
  EXPECT_NE(d.output.find("--device"), std::string::npos) << d.output;
  CommandResult k = run_statetune("tune " + write_config("badkey", "weights_dtype: fp16\n"));
  EXPECT_EQ(k.code, 1) << k.output;
  EXPECT_NE(k.output.find("badkey.yaml:12: key 'weights_dtype'"), std::string::npos) << k.output;
  CommandResult s = run_statetune(fmt::format("score --model {}/m.pth --tokens 0,5,6 --weights-dtype fp16", dir_));
  EXPECT_EQ(s.code, 2) << s.output;
}

TEST_F(TuneCli, NcclOnARunOnTheCpuIsRefusedBeforeAnyWork) {
  const std::string sweep = dir_ + "/nccl.yaml";
  std::ofstream(sweep) << "base:\n  model: m.pth\n  vocab: vocab.txt\n  output: nccl/{hash}.pth\n  steps: 2\n"
                       << "  device: cpu\n  data:\n    benchmark: jsonl\n    train: train.jsonl\n"
                       << "grid:\n  seed: [0, 1]\n";
  CommandResult r = run_statetune("sweep " + sweep + " --out " + dir_ + "/nccl.h5 --comm nccl");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("--comm nccl: run "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("computes on cpu; NCCL all-reduces GPU tensors"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/nccl.h5")) << "refused before the study file is made";
}

}  // namespace
