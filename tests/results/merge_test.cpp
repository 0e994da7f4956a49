// merge_studies: array-task files become one study; conflicting duplicates are refused.
#include <gtest/gtest.h>

#include <filesystem>

#include "expect_error.h"
#include "statetune/results/merge.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

const RunDescription kA = demo_run("aaaa000000000001", "kernel", "0.01", "1");
const RunDescription kB = demo_run("bbbb000000000002", "kernel", "0.01", "2");
const RunDescription kC = demo_run("cccc000000000003", "standard", "0.01", "1");

void write_done(StudyWriter& writer, const RunDescription& run, double after) {
  writer.begin_run(run);
  writer.append_step(run.hash, demo_step(0));
  writer.finish_run(run.hash, demo_outcome(0.25, after));
}

TEST(ResultsMerge, UnitesRunsAndAcceptsIdenticalDuplicates) {
  const std::string dir = temp_dir("results_merge");
  {
    auto w = StudyWriter::open(dir + "/t0.h5", demo_study());
    w.set_study_attribute("slurm_job_id", "100_0");
    w.set_study_attribute("cluster", "local");
    write_done(w, kA, 0.5);
    write_done(w, kB, 0.75);
    w.begin_run(kC);  // this task was interrupted on C ...
    w.mark_interrupted_running();
  }
  {
    auto w = StudyWriter::open(dir + "/t1.h5", demo_study());
    w.set_study_attribute("slurm_job_id", "100_1");
    w.set_study_attribute("cluster", "local");
    write_done(w, kB, 0.75);  // ... the same B again, identical
    write_done(w, kC, 0.625);  // ... and another finished C
  }
  const MergeSummary summary = merge_studies({dir + "/t0.h5", dir + "/t1.h5"}, dir + "/all.h5");
  EXPECT_EQ(summary.runs, 3u);
  EXPECT_EQ(summary.duplicates, 2u);

  auto reader = StudyReader::open(dir + "/all.h5");
  EXPECT_EQ(reader.header().info.name, "demo");
  EXPECT_EQ(reader.header().attributes.at("slurm_job_id"), "100_0\n100_1");
  EXPECT_EQ(reader.header().attributes.at("cluster"), "local");
  EXPECT_EQ(reader.finished_hashes(), (std::set<std::string>{kA.hash, kB.hash, kC.hash}));
  EXPECT_EQ(reader.eval_summary(kC.hash).at(0).after, 0.625);
  EXPECT_EQ(reader.metrics(kA.hash).size(), 1u);
  EXPECT_EQ(reader.items(kB.hash).size(), 3u);
  EXPECT_EQ(reader.run(kA.hash).description.axes, kA.axes);
}

TEST(ResultsMerge, RefusesSameHashWithDifferentConfig) {
  const std::string dir = temp_dir("results_merge_config");
  { auto w = StudyWriter::open(dir + "/t0.h5", demo_study()); w.declare_run(kA); }
  {
    auto w = StudyWriter::open(dir + "/t1.h5", demo_study());
    RunDescription changed = kA;
    changed.canonical_text += "M: 64\n";
    w.declare_run(changed);
    w.flush();
  }
  expect_error([&] { merge_studies({dir + "/t0.h5", dir + "/t1.h5"}, dir + "/all.h5"); },
               "merge of " + dir + "/t0.h5 and " + dir + "/t1.h5: conflicting duplicate run aaaa000000000001");
  EXPECT_FALSE(std::filesystem::exists(dir + "/all.h5"));
}

TEST(ResultsMerge, RefusesSameRunDoneWithDifferentResults) {
  const std::string dir = temp_dir("results_merge_results");
  { auto w = StudyWriter::open(dir + "/t0.h5", demo_study()); write_done(w, kA, 0.5); }
  { auto w = StudyWriter::open(dir + "/t1.h5", demo_study()); write_done(w, kA, 0.75); }
  expect_error([&] { merge_studies({dir + "/t0.h5", dir + "/t1.h5"}, dir + "/all.h5"); },
               "conflicting duplicate run aaaa000000000001: both done, with different eval");
}

TEST(ResultsMerge, RefusesOtherStudiesAndAnExistingOutput) {
  const std::string dir = temp_dir("results_merge_studies");
  StudyInfo other = demo_study();
  other.name = "other";
  { StudyWriter::open(dir + "/t0.h5", demo_study()); }
  { StudyWriter::open(dir + "/t1.h5", other); }
  expect_error([&] { merge_studies({dir + "/t0.h5", dir + "/t1.h5"}, dir + "/all.h5"); },
               dir + "/t1.h5: study 'other' is not the study 'demo' of " + dir + "/t0.h5");
  expect_error([&] { merge_studies({dir + "/t0.h5"}, dir + "/t1.h5"); }, dir + "/t1.h5: exists");
  expect_error([&] { merge_studies({dir + "/t0.h5", dir + "/missing.h5"}, dir + "/all.h5"); },
               dir + "/missing.h5: no such file");
}

}  // namespace
