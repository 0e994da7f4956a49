// Command-line overrides of a sweep's base: applied before expansion, checked exactly as a
// run config's overrides are, and refused for keys that are axes.
#include <gtest/gtest.h>

#include <filesystem>

#include "config_files.h"
#include "expect_error.h"
#include "statetune/common/error.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/sweeps/sweep.h"

using namespace statetune::sweeps;
using statetune::testing::expect_error;
using statetune::testing::kSweepBase;
using statetune::testing::kMinimalRun;
using statetune::testing::temp_dir;
using statetune::testing::write_text;

namespace {

std::string write_sweep(const std::string& text) { return write_text(temp_dir("sweep_overrides"), "sweep.yaml", text); }

Sweep load(const std::string& text, const std::vector<std::string>& overrides) {
  return load_sweep_file(write_sweep(text), overrides);
}

void expect_override_error(const std::string& text, const std::vector<std::string>& overrides,
                           const std::string& message) {
  const std::string path = write_sweep(text);
  expect_error([&] { load_sweep_file(path, overrides); }, message);
}

// The message an override gives, or "" when it is accepted.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const statetune::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SweepOverrides, SetTheBaseOfEveryRun) {
  const std::string text = kSweepBase + "grid:\n  method: [standard, kernel]\n  seed: [0, 1]\n";
  const Sweep plain = load(text, {});
  const Sweep sweep = load(text, {"lr=0.25", "steps=7", "data.num_fewshot=3"});
  ASSERT_EQ(sweep.runs.size(), 4u);
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    const RunSpec& spec = sweep.runs[i].spec;
    EXPECT_EQ(spec.lr, 0.25);
    EXPECT_EQ(spec.steps, 7);
    EXPECT_EQ(spec.data.num_fewshot, 3);
    EXPECT_EQ(sweep.runs[i].hash, run_hash(spec));
    EXPECT_NE(sweep.runs[i].hash, plain.runs[i].hash);  // a changed base is another run
    EXPECT_EQ(sweep.runs[i].axes, plain.runs[i].axes);
  }
  EXPECT_EQ(sweep.overrides, (std::vector<std::string>{"lr=0.25", "steps=7", "data.num_fewshot=3"}));
  EXPECT_EQ(sweep.text, plain.text);  // the file's text, not the overrides
}

TEST(SweepOverrides, SuppliesRequiredKeysTheFileLeavesOut) {
  const std::string text =
      "base:\n"
      "  output: states/{hash}.pth\n"
      "  data: {benchmark: jsonl}\n"
      "grid:\n"
      "  seed: [0, 1]\n";
  // Required keys are checked in key order; the error names the base's line.
  expect_override_error(text, {}, "sweep.yaml:1: missing required key 'data.train'");
  expect_override_error(text, {"data.train=t.jsonl"}, "sweep.yaml:1: missing required key 'model'");
  expect_override_error(text, {"data.train=t.jsonl", "model=m.pth"}, "sweep.yaml:1: missing required key 'vocab'");

  const Sweep sweep = load(text, {"model=models/m.pth", "vocab=v.txt", "data.train=d/train.jsonl"});
  ASSERT_EQ(sweep.runs.size(), 2u);
  // Override paths are relative to the current directory, not to the sweep file.
  const auto cwd = std::filesystem::current_path();
  EXPECT_EQ(sweep.runs[0].spec.model, (cwd / "models/m.pth").lexically_normal().string());
  EXPECT_EQ(sweep.runs[1].spec.data.train, (cwd / "d/train.jsonl").lexically_normal().string());
}

TEST(SweepOverrides, EmptyValueUnsetsAnOptionalKey) {
  const Sweep sweep = load(kSweepBase + "  method: kernel\n  gamma: 0.5\n", {"gamma="});
  ASSERT_EQ(sweep.runs.size(), 1u);
  EXPECT_FALSE(sweep.runs[0].spec.gamma.has_value());
}

TEST(SweepOverrides, ApplyBeforeExcludeRules) {
  const std::string text = kSweepBase + "grid:\n  seed: [0, 1, 2]\nexclude:\n  - {steps: 5, seed: 0}\n";
  EXPECT_EQ(load(text, {}).runs.size(), 3u);
  const Sweep sweep = load(text, {"steps=5"});
  EXPECT_EQ(sweep.excluded, 1u);
  EXPECT_EQ(sweep.runs.size(), 2u);
}

TEST(SweepOverrides, CheckedExactlyAsRunConfigOverrides) {
  const std::string dir = temp_dir("sweep_overrides_same");
  const std::string run = write_text(dir, "run.yaml", kMinimalRun);
  const std::string sweep = write_text(dir, "sweep.yaml", kSweepBase);
  for (const std::string item : {"M=abc", "M=0", "lr=fast", "lr=", "data.on_error=ignore", "lrr=2", "lr", "=1",
                                 "data=x", "init=prompt", "steps=0"}) {
    const std::string from_run = error_of([&] { load_run_file(run, {item}); });
    EXPECT_FALSE(from_run.empty()) << item;
    EXPECT_EQ(error_of([&] { load_sweep_file(sweep, {item}); }), from_run) << item;
  }
  expect_error([&] { load_sweep_file(sweep, {"M=abc"}); }, "command line: M=abc: key 'M': expected an integer, got 'abc'");
}

TEST(SweepOverrides, RulesAndOutputsNameTheOverride) {
  expect_override_error(kSweepBase, {"warmup_steps=500"},
                        "command line: warmup_steps=500: key 'warmup_steps': expected at most steps (100), got 500");
  expect_override_error(kSweepBase + "grid:\n  seed: [0, 1]\n", {"output=out.pth"},
                        "command line: output=out.pth: key 'output': runs ");
}

TEST(SweepOverrides, AnAxisCannotBeOverridden) {
  const std::string text = kSweepBase +
                           "grid:\n  method: [kernel, dbp]\n  data.benchmark: [mmlu, gsm8k]\n"
                           "zip:\n  - lr: [1, 0.5]\n    seed: [0, 1]\n";
  const std::string path = write_sweep(text);
  auto expect_axis_error = [&](const std::vector<std::string>& overrides, const std::string& message) {
    expect_error([&] { load_sweep_file(path, overrides); }, message);
  };
  expect_axis_error({"method=dbp"}, "command line: method=dbp: key 'method' is an axis of the sweep (" + path +
                                        ":8); an override sets one value for every run, so change the axis in the "
                                        "file instead");
  expect_axis_error({"data.benchmark=mmlu"}, "key 'data.benchmark' is an axis of the sweep (" + path + ":9)");
  expect_axis_error({"lr=0.1", "seed=3"}, "command line: lr=0.1: key 'lr' is an axis of the sweep (" + path + ":11)");
  expect_axis_error({"seed=3"}, "key 'seed' is an axis of the sweep (" + path + ":12)");
  // Keys that only exclude rules name are not axes.
  EXPECT_EQ(load(text + "exclude:\n  - {steps: 5}\n", {"steps=4"}).runs.size(), 8u);
}
