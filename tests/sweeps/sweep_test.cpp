// Sweep files: grid, zip and exclude counts and order, collapse of axes that do not apply,
// dedupe by hash, and errors naming the line.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <set>

#include "config_files.h"
#include "expect_error.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/sweeps/sweep.h"

using namespace statetune::sweeps;
using statetune::testing::expect_error;
using statetune::testing::kSweepBase;
using statetune::testing::temp_dir;
using statetune::testing::write_text;

namespace {

Sweep load(const std::string& text) {
  const auto dir = temp_dir("sweep");
  return load_sweep_file(write_text(dir, "sweep.yaml", text));
}

void expect_sweep_error(const std::string& text, const std::string& message) {
  const auto dir = temp_dir("sweep_errors");
  const auto path = write_text(dir, "sweep.yaml", text);
  expect_error([&] { load_sweep_file(path); }, message);
}

std::vector<std::pair<std::string, std::string>> axes(std::initializer_list<std::pair<std::string, std::string>> list) {
  return list;
}

}  // namespace

TEST(Sweep, NoAxesIsOneRun) {
  const Sweep sweep = load(kSweepBase);
  ASSERT_EQ(sweep.runs.size(), 1u);
  EXPECT_EQ(sweep.combinations, 1u);
  EXPECT_TRUE(sweep.axes.empty());
  EXPECT_EQ(sweep.runs[0].spec.method, Method::kStandard);
  EXPECT_EQ(sweep.runs[0].hash, run_hash(sweep.runs[0].spec));
  EXPECT_EQ(sweep.text, kSweepBase);
}

TEST(Sweep, GridIsTheProductInFileOrderLastAxisFastest) {
  const Sweep sweep = load(kSweepBase + "grid:\n  method: [kernel, dbp]\n  lr: [1, 0.5]\n  seed: [0, 1]\n");
  EXPECT_EQ(sweep.combinations, 8u);
  ASSERT_EQ(sweep.runs.size(), 8u);
  EXPECT_EQ(sweep.axes, (std::vector<std::string>{"method", "lr", "seed"}));
  EXPECT_EQ(sweep.runs[0].axes, axes({{"method", "kernel"}, {"lr", "1"}, {"seed", "0"}}));
  EXPECT_EQ(sweep.runs[1].axes, axes({{"method", "kernel"}, {"lr", "1"}, {"seed", "1"}}));
  EXPECT_EQ(sweep.runs[2].axes, axes({{"method", "kernel"}, {"lr", "0.5"}, {"seed", "0"}}));
  EXPECT_EQ(sweep.runs[7].axes, axes({{"method", "dbp"}, {"lr", "0.5"}, {"seed", "1"}}));
  EXPECT_EQ(sweep.runs[7].spec.method, Method::kDbp);
  EXPECT_EQ(sweep.runs[7].spec.lr, 0.5);
  EXPECT_EQ(sweep.runs[7].spec.seed, 1);
  std::set<std::string> hashes;
  for (const auto& run : sweep.runs) hashes.insert(run.hash);
  EXPECT_EQ(hashes.size(), 8u);
}

TEST(Sweep, ExpansionIsDeterministic) {
  const std::string text = kSweepBase + "grid:\n  method: [standard, kernel, dbp]\n  M: [64, 128]\n  lr: [1, 0.1]\n";
  const Sweep a = load(text), b = load(text);
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (std::size_t i = 0; i < a.runs.size(); ++i) EXPECT_EQ(a.runs[i].hash, b.runs[i].hash);
}

TEST(Sweep, AxesThatDoNotApplyCollapse) {
  const Sweep sweep = load(kSweepBase + "grid:\n  method: [standard, kernel]\n  M: [128, 256]\n");
  EXPECT_EQ(sweep.combinations, 4u);
  EXPECT_EQ(sweep.duplicates, 1u);
  ASSERT_EQ(sweep.runs.size(), 3u);
  EXPECT_EQ(sweep.runs[0].axes, axes({{"method", "standard"}}));  // M does not apply to it
  EXPECT_EQ(sweep.runs[1].axes, axes({{"method", "kernel"}, {"M", "128"}}));
  EXPECT_EQ(sweep.runs[2].axes, axes({{"method", "kernel"}, {"M", "256"}}));
  EXPECT_EQ(sweep.runs[2].spec.M, 256);
}

TEST(Sweep, DbpAxesCollapseForKernel) {
  const Sweep sweep = load(kSweepBase + "grid:\n  method: [kernel, dbp]\n  dbp_lambda: [0.5, 1, 2]\n");
  EXPECT_EQ(sweep.runs.size(), 4u);  // kernel once, dbp three times
}

TEST(Sweep, EqualValuesWrittenDifferentlyDedupe) {
  const Sweep sweep = load(kSweepBase + "grid:\n  lr: [1, 1.0, 1e0, 0.5]\n");
  EXPECT_EQ(sweep.duplicates, 2u);
  EXPECT_EQ(sweep.runs.size(), 2u);
  // An axis equal to the base (steps: 100) gives the base's run once.
  EXPECT_EQ(load(kSweepBase + "grid:\n  steps: [100, 100]\n").runs.size(), 1u);
}

TEST(Sweep, ZipVariesAxesTogether) {
  const Sweep sweep = load(kSweepBase +
                           "grid:\n  seed: [0, 1]\n"
                           "zip:\n  - lr: [1, 0.5, 0.25]\n    warmup_steps: [0, 10, 20]\n");
  EXPECT_EQ(sweep.combinations, 6u);
  ASSERT_EQ(sweep.runs.size(), 6u);
  EXPECT_EQ(sweep.axes, (std::vector<std::string>{"seed", "lr", "warmup_steps"}));
  EXPECT_EQ(sweep.runs[0].axes, axes({{"seed", "0"}, {"lr", "1"}, {"warmup_steps", "0"}}));
  EXPECT_EQ(sweep.runs[2].axes, axes({{"seed", "0"}, {"lr", "0.25"}, {"warmup_steps", "20"}}));
  EXPECT_EQ(sweep.runs[4].spec.lr, 0.5);
  EXPECT_EQ(sweep.runs[4].spec.warmup_steps, 10);
  EXPECT_EQ(sweep.runs[4].spec.seed, 1);
}

TEST(Sweep, TwoZipGroupsMultiply) {
  const Sweep sweep = load(kSweepBase + "zip:\n  - {lr: [1, 0.5], seed: [1, 2]}\n  - {M: [64, 128], method: [kernel, dbp]}\n");
  EXPECT_EQ(sweep.runs.size(), 4u);
}

TEST(Sweep, ExcludeDropsRunsMatchingEveryPair) {
  const std::string grid = kSweepBase + "grid:\n  method: [standard, kernel, dbp]\n  M: [128, 256]\n";
  const Sweep sweep = load(grid + "exclude:\n  - {method: dbp, M: 256}\n");
  EXPECT_EQ(sweep.excluded, 1u);
  EXPECT_EQ(sweep.runs.size(), 4u);  // standard, kernel x 2, dbp x 1
  for (const auto& run : sweep.runs) EXPECT_FALSE(run.spec.method == Method::kDbp && run.spec.M == 256);

  // A list of values matches any of them.
  const Sweep any = load(grid + "exclude:\n  - M: 256\n    method: [kernel, dbp]\n");
  EXPECT_EQ(any.excluded, 2u);
  EXPECT_EQ(any.runs.size(), 3u);

  // Numbers compare by value: 1.0 matches lr 1.
  const Sweep by_value = load(kSweepBase + "grid:\n  lr: [1, 0.5]\nexclude:\n  - {lr: 1.0}\n");
  ASSERT_EQ(by_value.runs.size(), 1u);
  EXPECT_EQ(by_value.runs[0].spec.lr, 0.5);

  // Rules may name keys that are not axes (here the base's steps), and several rules add up.
  const Sweep two = load(grid + "exclude:\n  - {method: standard}\n  - {M: 128, steps: 100}\n");
  EXPECT_EQ(two.runs.size(), 2u);
  EXPECT_EQ(load(grid + "exclude:\n  - {M: 128, steps: 5}\n").runs.size(), 5u);  // matches nothing
}

TEST(Sweep, DottedDataAxes) {
  const Sweep sweep = load(kSweepBase + "grid:\n  data.benchmark: [mmlu, gsm8k]\n  data.num_fewshot: [0, 5]\n");
  ASSERT_EQ(sweep.runs.size(), 4u);
  EXPECT_EQ(sweep.runs[3].spec.data.benchmark, Benchmark::kGsm8k);
  EXPECT_EQ(sweep.runs[3].spec.data.num_fewshot, 5);
}

TEST(Sweep, NullUnsetsAnOptionalKey) {
  const Sweep sweep = load(kSweepBase + "  method: kernel\ngrid:\n  gamma: [null, 0.5]\n  gamma_scale: [1, 2]\n");
  // gamma unset x 2 scales, gamma 0.5 (scale does not apply): 3 runs.
  ASSERT_EQ(sweep.runs.size(), 3u);
  EXPECT_FALSE(sweep.runs[0].spec.gamma.has_value());
  EXPECT_EQ(sweep.runs[0].axes, axes({{"gamma", "null"}, {"gamma_scale", "1"}}));
  EXPECT_EQ(sweep.runs[2].axes, axes({{"gamma", "0.5"}}));
}

TEST(Sweep, PathsResolveAgainstTheSweepFileAndHashFillsOutputs) {
  const auto dir = temp_dir("sweep_paths");
  const auto path = write_text(dir, "studies/sweep.yaml", kSweepBase + "  checkpoint: ckpt/{hash}.ckpt\ngrid:\n  lr: [1, 0.5]\n");
  const Sweep sweep = load_sweep_file(path);
  ASSERT_EQ(sweep.runs.size(), 2u);
  const auto base = std::filesystem::path(dir) / "studies";
  for (const auto& run : sweep.runs) {
    EXPECT_EQ(run.spec.model, (base / "m.pth").string());
    EXPECT_EQ(run.spec.data.train, (base / "train.jsonl").string());
    EXPECT_EQ(run.spec.output, (base / "states" / (run.hash + ".pth")).string());
    EXPECT_EQ(run.spec.checkpoint, (base / "ckpt" / (run.hash + ".ckpt")).string());
  }
}

TEST(Sweep, PlansATenThousandRunGridQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const Sweep sweep = load(kSweepBase + "  method: kernel\ngrid:\n  M: [16, 32, 48, 64, 80, 96, 112, 128, 144, 160]\n"
                                   "  gamma_scale: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]\n"
                                   "  lr: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]\n"
                                   "  seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(sweep.runs.size(), 10000u);
  std::cout << "[ measure  ] planned 10,000 runs in " << seconds << " s\n";
}

// ---- errors --------------------------------------------------------------------------

TEST(SweepErrors, AxisValuesAreTypeCheckedWithTheirLine) {
  expect_sweep_error(kSweepBase + "grid:\n  M: [128, abc]\n", "sweep.yaml:8: key 'M': expected an integer, got 'abc'");
  expect_sweep_error(kSweepBase + "grid:\n  lr:\n    - 1\n    - fast\n", "sweep.yaml:10: key 'lr': expected a number, got 'fast'");
  expect_sweep_error(kSweepBase + "grid:\n  M: [128, 0]\n", "sweep.yaml:8: key 'M': expected an integer >= 1, got '0'");
  expect_sweep_error(kSweepBase + "grid:\n  method: [standard, kernal]\n",
                     "sweep.yaml:8: key 'method': expected one of standard|kernel|dbp|tts, got 'kernal' (did you mean 'kernel'?)");
}

TEST(SweepErrors, BaseValuesAreTypeCheckedWithTheirLine) {
  expect_sweep_error("base:\n  model: m\n  lr: x\n", "sweep.yaml:3: key 'lr': expected a number, got 'x'");
  expect_sweep_error("base:\n  model: m\n  lrr: 1\n", "sweep.yaml:3: unknown key 'lrr' (did you mean 'lr'?)");
}

TEST(SweepErrors, UnknownAxis) {
  expect_sweep_error(kSweepBase + "grid:\n  lrr: [1, 2]\n", "sweep.yaml:8: unknown key 'lrr' (did you mean 'lr'?)");
  expect_sweep_error(kSweepBase + "grid:\n  data: {benchmark: [mmlu]}\n",
                     "sweep.yaml:8: key 'data': name the keys of a section as 'data.KEY'");
}

TEST(SweepErrors, AxisShape) {
  expect_sweep_error(kSweepBase + "grid:\n  lr: 1\n", "sweep.yaml:8: axis 'lr': expected a list of values, got '1'");
  expect_sweep_error(kSweepBase + "grid:\n  lr: []\n", "sweep.yaml:8: axis 'lr' has no values");
  expect_sweep_error(kSweepBase + "grid:\n  lr: [[1, 2]]\n", "sweep.yaml:8: key 'lr': expected a number, got a list");
  expect_sweep_error(kSweepBase + "grid: [lr]\n", "sweep.yaml:7: 'grid': expected a mapping of axes, got a list");
}

TEST(SweepErrors, AxisDeclaredTwice) {
  expect_sweep_error(kSweepBase + "grid:\n  lr: [1]\nzip:\n  - {lr: [1], seed: [2]}\n",
                     "sweep.yaml:10: axis 'lr' is declared twice (first at ");
}

TEST(SweepErrors, ZipLengthsDiffer) {
  expect_sweep_error(kSweepBase + "zip:\n  - lr: [1, 0.5, 0.25]\n    seed: [0, 1]\n",
                     "sweep.yaml:9: zip group: axis 'seed' has 2 values but 'lr' has 3; zipped axes need the same number");
  expect_sweep_error(kSweepBase + "zip:\n  lr: [1]\n", "sweep.yaml:8: 'zip': expected a list of axis groups, got a mapping");
}

TEST(SweepErrors, BadExcludeRules) {
  expect_sweep_error(kSweepBase + "exclude:\n  - {method: kernal}\n",
                     "sweep.yaml:8: key 'method': expected one of standard|kernel|dbp|tts, got 'kernal'");
  expect_sweep_error(kSweepBase + "exclude:\n  - {mm: 1}\n", "sweep.yaml:8: unknown key 'mm' (did you mean 'M'?)");
  expect_sweep_error(kSweepBase + "exclude:\n  - {}\n", "sweep.yaml:8: exclude rule: expected a mapping of key: value, got");
  expect_sweep_error(kSweepBase + "exclude: {M: 1}\n", "sweep.yaml:7: 'exclude': expected a list of rules, got a mapping");
}

TEST(SweepErrors, Sections) {
  expect_sweep_error(kSweepBase + "grids:\n  lr: [1]\n",
                     "sweep.yaml:7: unknown sweep section 'grids' (did you mean 'grid'?); expected base, grid, zip or exclude");
  expect_sweep_error("grid:\n  lr: [1]\n", "sweep.yaml: missing section 'base'");
  expect_sweep_error("- base\n", "sweep.yaml:1: expected a sweep (base:, grid:, zip:, exclude:), got a list");
  expect_sweep_error("base: {model: m\n", "sweep.yaml:2: YAML syntax error");
}

TEST(SweepErrors, MissingRequiredKeyNamesTheBase) {
  expect_sweep_error("# a study\nbase:\n  vocab: v\n  output: o\n  data: {benchmark: mmlu, train: t}\n",
                     "sweep.yaml:2: missing required key 'model' (the frozen RWKV-7 checkpoint");
  // A required key given by an axis is not missing.
  EXPECT_EQ(load("base:\n  vocab: v\n  output: o/{hash}\n  data: {benchmark: mmlu, train: t}\ngrid:\n  model: [a, b]\n")
                .runs.size(),
            2u);
}

TEST(SweepErrors, RulesBrokenByAnAxisNameItsLine) {
  expect_sweep_error(kSweepBase + "grid:\n  warmup_steps: [0, 500]\n",
                     "sweep.yaml:8: key 'warmup_steps': expected at most steps (100), got 500");
  // An excluded combination is never checked.
  EXPECT_EQ(load(kSweepBase + "grid:\n  warmup_steps: [0, 500]\nexclude:\n  - {warmup_steps: 500}\n").runs.size(), 1u);
}

TEST(SweepErrors, RunsMustNotShareAnOutput) {
  expect_sweep_error("base:\n  model: m\n  vocab: v\n  output: out.pth\n  data: {benchmark: mmlu, train: t}\n"
                     "grid:\n  lr: [1, 0.5]\n",
                     "sweep.yaml:4: key 'output': runs ");
  expect_sweep_error("base:\n  model: m\n  vocab: v\n  output: out.pth\n  data: {benchmark: mmlu, train: t}\n"
                     "grid:\n  lr: [1, 0.5]\n",
                     "put {hash} in the path");
}
