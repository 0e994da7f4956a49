// `statetune report` on a small synthetic study: exact lines.
#include <gtest/gtest.h>

#include "expect_error.h"
#include "statetune/results/report.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

// standard (lr 0.01) with seeds 1 and 2, kernel (lr 0.01) with seed 1, one failed run and
// one still running.
std::string write_synthetic_study(const std::string& name) {
  const std::string path = temp_dir(name) + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study());
  auto done = [&](const RunDescription& run, double before, double after) {
    writer.begin_run(run);
    writer.finish_run(run.hash, demo_outcome(before, after));
  };
  done(demo_run("0000000000000001", "standard", "0.01", "1"), 0.25, 0.5);
  done(demo_run("0000000000000002", "standard", "0.01", "2"), 0.25, 0.375);
  done(demo_run("0000000000000003", "kernel", "0.01", "1"), 0.25, 0.625);
  const RunDescription failed = demo_run("0000000000000004", "kernel", "0.01", "2");
  writer.begin_run(failed);
  RunOutcome outcome;
  outcome.status = RunStatus::kFailed;
  outcome.message = "out of memory";
  writer.finish_run(failed.hash, outcome);
  writer.begin_run(demo_run("0000000000000005", "kernel", "0.001", "1"));
  return path;
}

TEST(ResultsReport, GroupsOverSeedsByDefault) {
  const std::string path = write_synthetic_study("results_report");
  const std::string expected =
      "study: demo (" + path + ")\n"
      "runs: 5 (done 3, failed 1, running 1)\n"
      "failed 0000000000000004: out of memory\n"
      "metric: acc (diff = after - before; mean ± std over the runs of a row)\n"
      "lr    method    n  before           after            diff\n"
      "0.01  kernel    1  0.2500           0.6250           +0.3750\n"
      "0.01  standard  2  0.2500 ± 0.0000  0.4375 ± 0.0884  +0.1875 ± 0.0884\n";
  EXPECT_EQ(format_report(StudyReader::open(path), {}), expected);
}

TEST(ResultsReport, GroupByAndMetric) {
  const std::string path = write_synthetic_study("results_report_by");
  const std::string text = format_report(StudyReader::open(path), {{"seed"}, "acc_norm"});
  const std::string table =
      "metric: acc_norm (diff = after - before; mean ± std over the runs of a row)\n"
      "seed  n  before           after            diff\n"
      "1     2  0.3750 ± 0.0000  0.6875 ± 0.0884  +0.3125 ± 0.0884\n"
      "2     1  0.3750           0.5000           +0.1250\n";
  EXPECT_NE(text.find(table), std::string::npos) << text;
  expect_error([&] { format_report(StudyReader::open(path), {{}, "f1"}); },
               path + ": no done run has eval metric 'f1' (available: acc, acc_norm)");
  expect_error([&] { format_report(StudyReader::open(path), {{"gamma"}, ""}); }, "--group-by gamma: no run has this axis");
}

TEST(ResultsReport, CsvIsLongFormat) {
  const std::string path = write_synthetic_study("results_report_csv");
  const std::string csv = report_csv(StudyReader::open(path));
  const std::string head =
      "hash,status,lr,method,seed,metric,before,after,diff\n"
      "0000000000000001,done,0.01,standard,1,acc,0.25,0.5,0.25\n"
      "0000000000000001,done,0.01,standard,1,acc_norm,0.375,0.625,0.25\n";
  EXPECT_EQ(csv.substr(0, head.size()), head);
  EXPECT_NE(csv.find("\n0000000000000004,failed,0.01,kernel,2,,,,\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\n0000000000000005,running,0.001,kernel,1,,,,\n"), std::string::npos) << csv;
}

}  // namespace
