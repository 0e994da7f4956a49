// One hash, one config: a conflicting duplicate is refused, an identical one accepted.
#include <gtest/gtest.h>

#include "expect_error.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

TEST(ResultsDuplicates, SameHashDifferentConfigIsRefused) {
  const std::string path = temp_dir("results_dup") + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study());
  writer.declare_run(demo_run("abcd000000000001", "kernel", "0.01", "1"));
  RunDescription other = demo_run("abcd000000000001", "kernel", "0.02", "1");
  expect_error([&] { writer.declare_run(other); }, path + ": conflicting duplicate run abcd000000000001");
  expect_error([&] { writer.begin_run(other); }, "line 1: 'lr: 0.01' vs 'lr: 0.02'");
}

TEST(ResultsDuplicates, IdenticalDuplicateIsAccepted) {
  const std::string path = temp_dir("results_dup_same") + "/study.h5";
  const RunDescription run = demo_run("abcd000000000001", "kernel", "0.01", "1");
  {
    auto writer = StudyWriter::open(path, demo_study());
    writer.begin_run(run);
    writer.finish_run(run.hash, demo_outcome(0.25, 0.5));
    writer.declare_run(run);  // the same config again: nothing changes
  }
  auto reader = StudyReader::open(path);
  EXPECT_EQ(reader.hashes().size(), 1u);
  EXPECT_EQ(reader.run(run.hash).status, RunStatus::kDone);
}

TEST(ResultsDuplicates, DoneRunsAreNotRunOrFinishedTwice) {
  const std::string path = temp_dir("results_done_twice") + "/study.h5";
  const RunDescription run = demo_run("abcd000000000001", "kernel", "0.01", "1");
  auto writer = StudyWriter::open(path, demo_study());
  writer.begin_run(run);
  writer.finish_run(run.hash, demo_outcome(0.25, 0.5));
  expect_error([&] { writer.begin_run(run); }, "begin_run: run abcd000000000001 is already done");
  expect_error([&] { writer.finish_run(run.hash, demo_outcome(0.25, 0.5)); }, "is already done");
}

TEST(ResultsDuplicates, ApiMisuseNamesTheFileAndRun) {
  const std::string path = temp_dir("results_misuse") + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study());
  expect_error([&] { writer.append_step("feed000000000000", demo_step(0)); },
               path + ": append_step: no run feed000000000000");
  expect_error([&] { writer.declare_run(demo_run("../etc", "kernel", "0.01", "1")); }, "invalid run hash '../etc'");
  writer.declare_run(demo_run("abcd000000000001", "kernel", "0.01", "1"));
  RunOutcome still_running;
  still_running.status = RunStatus::kRunning;
  expect_error([&] { writer.finish_run("abcd000000000001", still_running); }, "status 'running' does not end a run");
}

}  // namespace
