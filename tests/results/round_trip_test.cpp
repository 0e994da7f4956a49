// Everything the writer stores reads back unchanged.
#include <gtest/gtest.h>

#include <cmath>

#include "statetune/results/layout.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

TEST(ResultsRoundTrip, EverythingReadsBack) {
  const std::string path = temp_dir("results_round_trip") + "/study.h5";
  const RunDescription a = demo_run("aaaa000000000001", "kernel", "0.01", "1");
  const RunDescription b = demo_run("bbbb000000000002", "standard", "0.003", "2");
  const RunOutcome outcome = demo_outcome(0.25, 0.5);
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.set_study_attribute("slurm_job_ids", "123\n124");
    writer.begin_run(a, {2, "node7"});
    for (int s = 0; s < 3; ++s) writer.append_step(a.hash, demo_step(s));
    writer.finish_run(a.hash, outcome);
    writer.declare_run(b);
  }

  auto reader = StudyReader::open(path);
  const StudyHeader header = reader.header();
  EXPECT_EQ(header.format_version, kFormatVersion);
  EXPECT_EQ(header.info.name, "demo");
  EXPECT_EQ(header.info.sweep_yaml, demo_study().sweep_yaml);
  EXPECT_EQ(header.info.statetune_version, "0.1.0 (test)");
  EXPECT_EQ(header.created.size(), 20u);  // 2025-01-31T12:00:00Z
  EXPECT_GE(header.updated, header.created);
  EXPECT_EQ(header.attributes.at("slurm_job_ids"), "123\n124");

  EXPECT_EQ(reader.hashes(), (std::vector<std::string>{a.hash, b.hash}));
  EXPECT_EQ(reader.finished_hashes(), (std::set<std::string>{a.hash}));

  const RunInfo ra = reader.run(a.hash);
  EXPECT_EQ(ra.status, RunStatus::kDone);
  EXPECT_EQ(ra.description.config_yaml, a.config_yaml);
  EXPECT_EQ(ra.description.canonical_text, a.canonical_text);
  EXPECT_EQ(ra.description.method, "kernel");
  EXPECT_EQ(ra.description.axes, a.axes);
  EXPECT_EQ(ra.description.config, a.config);
  EXPECT_EQ(ra.attempts, 1);
  EXPECT_EQ(ra.ranks, 2);
  EXPECT_EQ(ra.host, "node7");
  EXPECT_FALSE(ra.started.empty());
  EXPECT_FALSE(ra.finished.empty());
  EXPECT_GE(ra.wall_seconds, 0.0);
  EXPECT_EQ(ra.message, "");
  EXPECT_EQ(ra.tuned_state_path, "/tmp/state.pth");

  const auto steps = reader.metrics(a.hash);
  ASSERT_EQ(steps.size(), 3u);
  for (int s = 0; s < 3; ++s) {
    const StepRecord want = demo_step(s);
    EXPECT_EQ(steps[s].step, want.step);
    EXPECT_EQ(steps[s].loss, want.loss);
    EXPECT_EQ(steps[s].lr, want.lr);
    EXPECT_EQ(steps[s].grad_norm, want.grad_norm);
    EXPECT_TRUE(std::isnan(steps[s].l_decor));
    EXPECT_EQ(steps[s].tokens_per_s, want.tokens_per_s);
  }

  const auto summary = reader.eval_summary(a.hash);
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_EQ(summary[0].name, "acc");
  EXPECT_EQ(summary[0].before, 0.25);
  EXPECT_EQ(summary[0].after, 0.5);
  EXPECT_EQ(summary[1].name, "acc_norm");
  EXPECT_EQ(summary[1].after, 0.625);

  const auto items = reader.items(a.hash);
  ASSERT_EQ(items.size(), 3u);
  for (std::size_t i = 0; i < items.size(); ++i) {
    EXPECT_EQ(items[i].phase, outcome.items[i].phase);
    EXPECT_EQ(items[i].id, outcome.items[i].id);
    EXPECT_EQ(items[i].prediction, outcome.items[i].prediction);
    EXPECT_EQ(items[i].gold, outcome.items[i].gold);
    EXPECT_EQ(items[i].correct, outcome.items[i].correct);
    EXPECT_EQ(items[i].choice_loglik, outcome.items[i].choice_loglik);
  }

  const RunInfo rb = reader.run(b.hash);
  EXPECT_EQ(rb.status, RunStatus::kPending);
  EXPECT_EQ(rb.attempts, 0);
  EXPECT_TRUE(reader.metrics(b.hash).empty());
  EXPECT_TRUE(reader.eval_summary(b.hash).empty());
  EXPECT_TRUE(reader.items(b.hash).empty());
}

TEST(ResultsRoundTrip, RetryOfAFailedRunStartsFromEmptyTables) {
  const std::string path = temp_dir("results_retry") + "/study.h5";
  const RunDescription a = demo_run("aaaa000000000001", "dbp", "0.01", "1");
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.begin_run(a);
    writer.append_step(a.hash, demo_step(0));
    RunOutcome failed;
    failed.status = RunStatus::kDiverged;
    failed.message = "loss is NaN at step 1";
    writer.finish_run(a.hash, failed);
  }
  {
    auto reader = StudyReader::open(path);
    EXPECT_EQ(reader.run(a.hash).status, RunStatus::kDiverged);
    EXPECT_EQ(reader.run(a.hash).message, "loss is NaN at step 1");
    EXPECT_TRUE(reader.finished_hashes().empty());
  }
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.begin_run(a);
    writer.append_step(a.hash, demo_step(0));
    writer.append_step(a.hash, demo_step(1));
    writer.finish_run(a.hash, demo_outcome(0.25, 0.75));
  }
  auto reader = StudyReader::open(path);
  const RunInfo info = reader.run(a.hash);
  EXPECT_EQ(info.status, RunStatus::kDone);
  EXPECT_EQ(info.attempts, 2);
  EXPECT_EQ(info.message, "");
  EXPECT_EQ(reader.metrics(a.hash).size(), 2u);
}

TEST(ResultsRoundTrip, StepsAreCommittedWithTheNextStatusChange) {
  const std::string path = temp_dir("results_step_commit") + "/study.h5";
  const RunDescription a = demo_run("aaaa000000000001", "standard", "0.01", "1");
  auto writer = StudyWriter::open(path, demo_study(), {3600.0});
  writer.begin_run(a);
  writer.append_step(a.hash, demo_step(0));
  EXPECT_TRUE(StudyReader::open(path).metrics(a.hash).empty());  // not yet committed
  writer.flush();
  EXPECT_EQ(StudyReader::open(path).metrics(a.hash).size(), 1u);
}

}  // namespace
