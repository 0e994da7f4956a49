// Every way a run config can be wrong, and the exact one-line message it gives: the file
// and line (or the command-line override), the key, and what was expected.
#include <gtest/gtest.h>

#include "config_files.h"
#include "expect_error.h"
#include "statetune/sweeps/run_config.h"

using namespace statetune::sweeps;
using statetune::testing::expect_error;
using statetune::testing::kMinimalRun;
using statetune::testing::temp_dir;
using statetune::testing::write_text;

namespace {

// kMinimalRun has 6 lines, so a key appended after it is on line 7.
void expect_appended_error(const std::string& appended, const std::string& message) {
  const auto dir = temp_dir("run_errors");
  const auto path = write_text(dir, "run.yaml", std::string(kMinimalRun) + appended);
  expect_error([&] { load_run_file(path); }, message);
}

void expect_file_error(const std::string& text, const std::string& message) {
  const auto dir = temp_dir("run_errors");
  const auto path = write_text(dir, "run.yaml", text);
  expect_error([&] { load_run_file(path); }, message);
}

void expect_override_error(const std::string& override_text, const std::string& message) {
  const auto dir = temp_dir("run_override_errors");
  const auto path = write_text(dir, "run.yaml", kMinimalRun);
  expect_error([&] { load_run_file(path, {override_text}); }, message);
}

}  // namespace

TEST(RunConfigErrors, WrongNumber) {
  expect_appended_error("dbp_lambda: abc\n", "run.yaml:7: key 'dbp_lambda': expected a number, got 'abc'");
  expect_appended_error("lr: 1e400\n", "run.yaml:7: key 'lr': expected a number, got '1e400'");
  expect_appended_error("lr: .nan\n", "run.yaml:7: key 'lr': expected a number, got '.nan'");
}

TEST(RunConfigErrors, WrongInteger) {
  expect_appended_error("steps: 1.5\n", "run.yaml:7: key 'steps': expected an integer, got '1.5'");
  expect_appended_error("M: 1e2\n", "run.yaml:7: key 'M': expected an integer, got '1e2'");
  expect_appended_error("seed: 99999999999999999999\n",
                        "run.yaml:7: key 'seed': expected an integer, got '99999999999999999999'");
}

TEST(RunConfigErrors, WrongBool) {
  expect_appended_error("linear: maybe\n", "run.yaml:7: key 'linear': expected true or false, got 'maybe'");
}

TEST(RunConfigErrors, WrongEnumSuggestsTheClosest) {
  expect_appended_error("method: kernal\n",
                        "run.yaml:7: key 'method': expected one of standard|kernel|dbp|tts, got 'kernal' (did you mean 'kernel'?)");
  expect_appended_error("schedule: linear\n", "run.yaml:7: key 'schedule': expected one of cosine|constant, got 'linear'");
}

TEST(RunConfigErrors, OutOfBounds) {
  expect_appended_error("M: 0\n", "run.yaml:7: key 'M': expected an integer >= 1, got '0'");
  expect_appended_error("gamma: 0\n", "run.yaml:7: key 'gamma': expected a number > 0, got '0'");
  expect_appended_error("dbp_lambda: -1\n", "run.yaml:7: key 'dbp_lambda': expected a number >= 0, got '-1'");
  expect_appended_error("steps: 0\n", "run.yaml:7: key 'steps': expected an integer >= 1, got '0'");
  expect_appended_error("final_lr_ratio: 2\n", "run.yaml:7: key 'final_lr_ratio': expected a number in [0, 1], got '2'");
}

TEST(RunConfigErrors, ListOrMappingOrNothingWhereAScalarIsExpected) {
  expect_appended_error("lr: [1, 2]\n", "run.yaml:7: key 'lr': expected a number, got a list");
  expect_appended_error("method: {a: 1}\n", "run.yaml:7: key 'method': expected one of standard|kernel|dbp|tts, got a mapping");
  expect_appended_error("lr:\n", "run.yaml:7: key 'lr': expected a number, got nothing");
}

TEST(RunConfigErrors, UnknownKeySuggestsTheClosest) {
  expect_file_error("model: m.pth\nvocab: v.txt\nlrr: 1\n", "run.yaml:3: unknown key 'lrr' (did you mean 'lr'?)");
  expect_appended_error("dbp_lamda: 1\n", "run.yaml:7: unknown key 'dbp_lamda' (did you mean 'dbp_lambda'?)");
  expect_appended_error("m: 1\n", "run.yaml:7: unknown key 'm' (did you mean 'M'?)");
  expect_file_error("model: m\ndat:\n  train: t\n", "run.yaml:2: unknown key 'dat' (did you mean 'data'?)");
}

TEST(RunConfigErrors, UnknownKeyWithNothingClose) {
  const auto dir = temp_dir("run_unknown");
  const auto path = write_text(dir, "run.yaml", std::string(kMinimalRun) + "learning_rate: 1\n");
  try {
    load_run_file(path);
    FAIL() << "no error";
  } catch (const statetune::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":7: unknown key 'learning_rate'");
  }
}

TEST(RunConfigErrors, UnknownKeyInASection) {
  expect_file_error("data:\n  benchmark: mmlu\n  tran: t.jsonl\n",
                    "run.yaml:3: unknown key 'data.tran' (did you mean 'data.train'?)");
}

TEST(RunConfigErrors, SectionMustBeAMapping) {
  expect_file_error("model: m\ndata: train.jsonl\n",
                    "run.yaml:2: key 'data': expected a mapping of data.* keys, got 'train.jsonl'");
}

TEST(RunConfigErrors, KeyWrittenTwice) {
  const auto dir = temp_dir("run_twice");
  const auto path = write_text(dir, "run.yaml", std::string(kMinimalRun) + "lr: 1\nlr: 2\n");
  expect_error([&] { load_run_file(path); }, "run.yaml:8: key 'lr' is written twice (first at " + path + ":7)");
  expect_file_error("data.train: a\ndata:\n  train: b\n", "run.yaml:3: key 'data.train' is written twice");
}

TEST(RunConfigErrors, MissingRequiredKeyNamesTheFile) {
  const auto dir = temp_dir("run_missing");
  const auto path = write_text(dir, "run.yaml", "vocab: v\noutput: o\ndata: {benchmark: mmlu, train: t}\n");
  try {
    load_run_file(path);
    FAIL() << "no error";
  } catch (const statetune::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": missing required key 'model' (the frozen RWKV-7 checkpoint (.pth or .safetensors) or a fetched model's name)");
  }
  expect_file_error("model: m\nvocab: v\noutput: o\ndata: {train: t}\n", "run.yaml: missing required key 'data.benchmark'");
}

TEST(RunConfigErrors, RequiredKeyWrittenEmpty) {
  expect_file_error("model:\nvocab: v\noutput: o\ndata: {benchmark: mmlu, train: t}\n",
                    "run.yaml:1: key 'model': expected a path, got nothing");
}

TEST(RunConfigErrors, YamlSyntaxErrorNamesTheLine) {
  expect_file_error("model: m\nlr: [1, 2\nsteps: 3\n", "run.yaml:3: YAML syntax error: end of sequence flow not found");
  expect_file_error("model: m\n  lr: 1\n", "run.yaml:2: YAML syntax error: illegal map value");
}

TEST(RunConfigErrors, NotAMapping) {
  expect_file_error("- model\n- vocab\n", "run.yaml:1: expected a mapping of config keys, got a list");
}

TEST(RunConfigErrors, MissingFile) {
  expect_error([] { load_run_file("/nonexistent/statetune/run.yaml"); }, "/nonexistent/statetune/run.yaml");
}

TEST(RunConfigErrors, CrossFieldRules) {
  expect_appended_error("steps: 10\ninit: prompt\n", "run.yaml:8: key 'init_prompt': required when init is 'prompt'");
  expect_appended_error("steps: 10\nwarmup_steps: 20\n", "run.yaml:8: key 'warmup_steps': expected at most steps (10), got 20");
  expect_appended_error("target: guide\n",
                        "run.yaml:7: key 'guide_prefix': required when target is 'guide' and no 'guide' model or 'guide_traces' is given");
  expect_appended_error("checkpoint_every: 10\n", "run.yaml:7: key 'checkpoint': required when checkpoint_every > 0");
  // The guide's own text has no gold answer to add, and a trace file is already its text.
  expect_appended_error("target: guide\nguide_prefix: Think.\nguide_generate_tokens: 8\nalpha: 0.5\n",
                        "run.yaml:10: key 'alpha': adds the gold answers' cross-entropy, but with "
                        "'guide_generate_tokens' the training examples are the guide's own text; set alpha to 0");
  expect_appended_error("target: guide\nguide_traces: t.jsonl\nguide_generate_tokens: 8\n",
                        "run.yaml:9: key 'guide_generate_tokens': the guide's text comes from 'guide_traces' here; "
                        "set one of them");
}

TEST(RunConfigErrors, RulesNameTheOverrideThatBrokeThem) {
  expect_override_error("init=prompt", "command line: init=prompt: key 'init_prompt': required when init is 'prompt'");
}

TEST(RunConfigErrors, OverridesAreTypeChecked) {
  expect_override_error("M=abc", "command line: M=abc: key 'M': expected an integer, got 'abc'");
  expect_override_error("M=0", "command line: M=0: key 'M': expected an integer >= 1, got '0'");
  expect_override_error("lr=fast", "command line: lr=fast: key 'lr': expected a number, got 'fast'");
  expect_override_error("lr=", "command line: lr=: key 'lr': expected a number, got ''");
  expect_override_error("data.on_error=ignore",
                        "command line: data.on_error=ignore: key 'data.on_error': expected one of error|skip, got 'ignore'");
}

TEST(RunConfigErrors, BadOverrides) {
  expect_override_error("lrr=2", "command line: lrr=2: unknown key 'lrr' (did you mean 'lr'?)");
  expect_override_error("lr", "command line: lr: expected key=value");
  expect_override_error("=1", "command line: =1: expected key=value");
  expect_override_error("data=x", "command line: data=x: 'data' is a section; set its keys as data.KEY=VALUE");
}
