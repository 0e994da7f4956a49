// Bad sweep files beyond sweep_test.cpp's: every error is one line naming the file, the line
// where one exists, and the key or section.
#include <gtest/gtest.h>

#include "config_files.h"
#include "expect_error.h"
#include "statetune/sweeps/sweep.h"

using namespace statetune::sweeps;
using statetune::testing::expect_error;
using statetune::testing::kSweepBase;
using statetune::testing::temp_dir;
using statetune::testing::write_text;

namespace {

void expect_sweep_error(const std::string& text, const std::string& message) {
  const auto path = write_text(temp_dir("sweep_file_errors"), "sweep.yaml", text);
  expect_error([&] { load_sweep_file(path); }, message);
}

}  // namespace

TEST(SweepFileErrors, NotAFileOrNotASweep) {
  const std::string dir = temp_dir("sweep_file_errors_dir");
  expect_error([&] { load_sweep_file(dir); }, dir + ": is a directory, expected a YAML file");
  expect_error([&] { load_sweep_file(dir + "/missing.yaml"); }, dir + "/missing.yaml: cannot open");
  expect_sweep_error("", "sweep.yaml: expected a sweep (base:, grid:, zip:, exclude:), got nothing");
  expect_sweep_error("# only a comment\n", "sweep.yaml: expected a sweep (base:, grid:, zip:, exclude:), got nothing");
  expect_sweep_error("base: 3\n", "sweep.yaml:1: expected a mapping of config keys, got '3'");
  expect_sweep_error("base:\n\tmodel: m\n", "sweep.yaml:2: YAML syntax error");
}

TEST(SweepFileErrors, SectionsAndKeysWrittenTwice) {
  expect_sweep_error(kSweepBase + "base:\n  lr: 1\n", "sweep.yaml:7: section 'base' is written twice");
  expect_sweep_error(kSweepBase + "  data: {eval: e.jsonl}\n", "sweep.yaml:7: key 'data' is written twice (first at ");
  expect_sweep_error(kSweepBase + "  lr: 1\n  lr: 2\n", "sweep.yaml:8: key 'lr' is written twice (first at ");
}

TEST(SweepFileErrors, AxisAndRuleShapes) {
  expect_sweep_error(kSweepBase + "grid:\n  [lr, M]: [1]\n", "sweep.yaml:8: expected an axis name, got a list");
  expect_sweep_error(kSweepBase + "zip:\n  - 3\n", "sweep.yaml:8: zip group: expected a mapping of axes, got '3'");
  expect_sweep_error(kSweepBase + "zip:\n  - {lr: 1}\n", "sweep.yaml:8: axis 'lr': expected a list of values, got '1'");
  expect_sweep_error(kSweepBase + "exclude:\n  - {[lr]: 1}\n", "sweep.yaml:8: exclude rule: expected a key name, got a list");
  expect_sweep_error(kSweepBase + "exclude:\n  - {lr: {a: 1}}\n", "sweep.yaml:8: key 'lr': expected a number, got a mapping");
}

TEST(SweepFileErrors, NullForAKeyThatNeedsAValue) {
  // YAML gives a null no position of its own (or the next token's): the axis's line.
  expect_sweep_error(kSweepBase + "grid:\n  lr: [1, null]\n", "sweep.yaml:8: key 'lr': expected a number, got nothing");
  expect_sweep_error(kSweepBase + "grid:\n  lr:\n    - 1\n    -\n    - 2\n", "sweep.yaml:8: key 'lr': expected a number, got nothing");
  expect_sweep_error(kSweepBase + "exclude:\n  - lr:\n      - 1\n      -\n", "sweep.yaml:8: key 'lr': expected a number, got nothing");
}

TEST(SweepFileErrors, RulesBrokenByTheBaseNameTheDecidingLine) {
  expect_sweep_error(kSweepBase + "  init: prompt\ngrid:\n  seed: [1, 2]\n",
                     "sweep.yaml:7: key 'init_prompt': required when init is 'prompt'");
  expect_sweep_error(kSweepBase + "grid:\n  init: [zeros, prompt]\n",
                     "sweep.yaml:8: key 'init_prompt': required when init is 'prompt'");
  expect_sweep_error(kSweepBase + "  warmup_steps: 200\n", "sweep.yaml:7: key 'warmup_steps': expected at most steps (100), got 200");
}
