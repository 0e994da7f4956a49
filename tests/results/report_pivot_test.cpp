// `statetune report --pivot ROWS --cols COLS --value VALUE` and the report's best
// configuration per benchmark, on small synthetic studies: exact tables.
#include <gtest/gtest.h>

#include <map>

#include "cli_runner.h"
#include "expect_error.h"
#include "statetune/results/report.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

using Axes = std::map<std::string, std::string>;

// A run with these axes, its config = the axes plus the benchmark.
RunDescription run_with(const std::string& hash, const Axes& axes, const std::string& benchmark = "arc_challenge") {
  RunDescription d;
  d.hash = hash;
  d.method = axes.at("method");
  d.axes = axes;
  for (const auto& [key, value] : axes) d.canonical_text += key + ": " + value + "\n";
  d.canonical_text += "data.benchmark: " + benchmark + "\n";
  d.config_yaml = d.canonical_text;
  d.config = axes;
  d.config["data.benchmark"] = benchmark;
  return d;
}

RunOutcome scored(std::vector<EvalMetric> summary) {
  RunOutcome o;
  o.summary = std::move(summary);
  return o;
}

void finish(StudyWriter& writer, const RunDescription& run, const RunOutcome& outcome) {
  writer.begin_run(run);
  writer.finish_run(run.hash, outcome);
}

// kernel and dbp over M x gamma_scale x seed (M 128, gamma_scale 1 never done), one
// standard run (M and gamma_scale do not apply), one failed run.
std::string write_grid_study(const std::string& name) {
  const std::string path = temp_dir(name) + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study());
  auto done = [&](const std::string& hash, const Axes& axes, double after) {
    finish(writer, run_with(hash, axes), demo_outcome(0.25, after));
  };
  done("0000000000000001", {{"method", "kernel"}, {"M", "64"}, {"gamma_scale", "0.5"}, {"seed", "0"}}, 0.5);
  done("0000000000000002", {{"method", "kernel"}, {"M", "64"}, {"gamma_scale", "0.5"}, {"seed", "1"}}, 0.75);
  done("0000000000000003", {{"method", "kernel"}, {"M", "64"}, {"gamma_scale", "1"}, {"seed", "0"}}, 0.375);
  done("0000000000000004", {{"method", "kernel"}, {"M", "128"}, {"gamma_scale", "0.5"}, {"seed", "0"}}, 0.625);
  done("0000000000000005", {{"method", "dbp"}, {"M", "64"}, {"gamma_scale", "0.5"}, {"seed", "0"}}, 1.0);
  done("0000000000000006", {{"method", "standard"}, {"seed", "0"}}, 0.375);
  const RunDescription failed =
      run_with("0000000000000007", {{"method", "kernel"}, {"M", "128"}, {"gamma_scale", "1"}, {"seed", "0"}});
  writer.begin_run(failed);
  RunOutcome outcome;
  outcome.status = RunStatus::kFailed;
  outcome.message = "out of memory";
  writer.finish_run(failed.hash, outcome);
  return path;
}

}  // namespace

TEST(ReportPivot, GainOfMByGammaScaleAveragesTheOtherAxesAndSeeds) {
  const std::string path = write_grid_study("pivot_gain");
  // (64, 0.5): kernel seeds 0 and 1 (+0.25, +0.5) and dbp (+0.75): +0.5. The standard run has
  // neither axis ('-'); the failed run's cell (128, 1) has no done run.
  EXPECT_EQ(format_pivot(StudyReader::open(path), {{"M"}, {"gamma_scale"}, "acc"}),
            "pivot: acc gain (after - before), mean over the done runs of each cell ('-': none)\n"
            "M \\ gamma_scale  -        0.5      1\n"
            "-                +0.1250  -        -\n"
            "64               -        +0.5000  +0.1250\n"
            "128              -        +0.3750  -\n");
}

TEST(ReportPivot, AfterAndBeforeValuesAndSeveralKeys) {
  const std::string path = write_grid_study("pivot_after");
  const StudyReader reader = StudyReader::open(path);
  EXPECT_EQ(format_pivot(reader, {{"method", "M"}, {"gamma_scale"}, "acc_norm.after"}),
            "pivot: acc_norm after tuning, mean over the done runs of each cell ('-': none)\n"
            "method    M \\ gamma_scale  -       0.5     1\n"
            "dbp       64               -       1.1250  -\n"
            "kernel    64               -       0.7500  0.5000\n"
            "kernel    128              -       0.7500  -\n"
            "standard  -                0.5000  -       -\n");
  EXPECT_EQ(format_pivot(reader, {{"method"}, {"seed", "M"}, "acc.before"}),
            "pivot: acc before tuning, mean over the done runs of each cell ('-': none)\n"
            "method \\ seed,M  0,-     0,64    0,128   1,64\n"
            "dbp              -       0.2500  -       -\n"
            "kernel           -       0.2500  0.2500  0.2500\n"
            "standard         0.2500  -       -       -\n");
  // acc.diff is the gain, as plain acc.
  EXPECT_EQ(format_pivot(reader, {{"M"}, {"gamma_scale"}, "acc.diff"}),
            format_pivot(reader, {{"M"}, {"gamma_scale"}, "acc"}));
}

TEST(ReportPivot, WithoutColumnsOneColumnAndConfigKeysServeAsRows) {
  const std::string path = write_grid_study("pivot_rows");
  const StudyReader reader = StudyReader::open(path);
  EXPECT_EQ(format_pivot(reader, {{"method"}, {}, ""}),  // default value: the gain of acc
            "pivot: acc gain (after - before), mean over the done runs of each cell ('-': none)\n"
            "method    acc\n"
            "dbp       +0.7500\n"
            "kernel    +0.3125\n"
            "standard  +0.1250\n");
  // data.benchmark is no run's axis; its values come from the config.
  EXPECT_EQ(format_pivot(reader, {{"data.benchmark"}, {"method"}, "acc.after"}),
            "pivot: acc after tuning, mean over the done runs of each cell ('-': none)\n"
            "data.benchmark \\ method  dbp     kernel  standard\n"
            "arc_challenge            1.0000  0.5625  0.3750\n");
}

TEST(ReportPivot, ErrorsNameTheOptionAndWhatExists) {
  const std::string path = write_grid_study("pivot_errors");
  const StudyReader reader = StudyReader::open(path);
  expect_error([&] { format_pivot(reader, {{"gamma"}, {}, ""}); },
               path + ": --pivot gamma: no run has this axis or config key (axes: M, gamma_scale, method, seed)");
  expect_error([&] { format_pivot(reader, {{"M"}, {"lambda"}, ""}); }, "--cols lambda: no run has this axis or config key");
  expect_error([&] { format_pivot(reader, {{"M"}, {}, "f1"}); },
               path + ": --value f1: no done run has this eval metric (available: acc, acc_norm; add .after or .before "
                      "for the raw values)");
  expect_error([&] { format_pivot(reader, {{"M"}, {}, "acc.median"}); }, "--value acc.median: no done run has");
  expect_error([&] { format_pivot(reader, {{}, {}, ""}); }, "--pivot needs at least one row key");
}

TEST(ReportBest, BestConfigurationPerBenchmarkAndMetric) {
  const std::string path = temp_dir("report_best") + "/study.h5";
  {
    auto writer = StudyWriter::open(path, demo_study());
    auto done = [&](const std::string& hash, const std::string& method, const std::string& seed,
                    const std::string& benchmark, double acc, double loss) {
      finish(writer, run_with(hash, {{"method", method}, {"seed", seed}}, benchmark),
             scored({{"acc", 0.25, acc}, {"eval loss", 3.0, loss}, {"mmlu/acc/anatomy", 0.25, acc}}));
    };
    done("0000000000000001", "kernel", "0", "arc_challenge", 0.5, 1.0);
    done("0000000000000002", "kernel", "1", "arc_challenge", 0.75, 1.5);
    done("0000000000000003", "standard", "0", "arc_challenge", 0.375, 1.125);
    done("0000000000000004", "kernel", "0", "mmlu", 0.25, 2.0);
    done("0000000000000005", "standard", "0", "mmlu", 0.5, 0.5);
    writer.begin_run(run_with("0000000000000006", {{"method", "dbp"}, {"seed", "0"}}, "mmlu"));  // still running
  }
  // acc: highest mean over seeds wins; eval loss: lowest. Per-subject breakdowns are left out.
  EXPECT_EQ(format_best_configurations(StudyReader::open(path)),
            "best configuration per benchmark (mean ± std of after over seeds; highest, lowest for losses):\n"
            "benchmark      metric     best after       n  configuration\n"
            "arc_challenge  acc        0.6250 ± 0.1768  2  method=kernel\n"
            "arc_challenge  eval loss  1.1250           1  method=standard\n"
            "mmlu           acc        0.5000           1  method=standard\n"
            "mmlu           eval loss  0.5000           1  method=standard\n");
}

TEST(ReportBest, ConfigurationIsEveryAxisButSeed) {
  const std::string path = write_grid_study("report_best_grid");
  // The dbp run is alone in its configuration; the failed run and the seeds do not count.
  EXPECT_EQ(format_best_configurations(StudyReader::open(path)),
            "best configuration per benchmark (mean ± std of after over seeds; highest, lowest for losses):\n"
            "benchmark      metric    best after  n  configuration\n"
            "arc_challenge  acc       1.0000      1  M=64 gamma_scale=0.5 method=dbp\n"
            "arc_challenge  acc_norm  1.1250      1  M=64 gamma_scale=0.5 method=dbp\n");
}

TEST(ReportPivotCli, PrintsTheReportThenThePivot) {
  if (!std::filesystem::exists(statetune_binary())) {
    GTEST_SKIP() << "SKIPPED: " << statetune_binary() << " is not built (build the statetune target)";
  }
  const std::string path = write_grid_study("report_pivot_cli");
  const CommandResult r = run_statetune("report " + path + " --pivot M --cols gamma_scale --value acc");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("runs: 7 (done 6, failed 1)\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("best configuration per benchmark"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("M \\ gamma_scale  -        0.5      1\n"
                          "-                +0.1250  -        -\n"
                          "64               -        +0.5000  +0.1250\n"),
            std::string::npos)
      << r.output;
  // Several keys, comma-separated.
  const CommandResult two = run_statetune("report " + path + " --pivot method,M --cols gamma_scale --value acc.after");
  ASSERT_EQ(two.code, 0) << two.output;
  EXPECT_NE(two.output.find("method    M \\ gamma_scale"), std::string::npos) << two.output;

  const CommandResult bad = run_statetune("report " + path + " --pivot M --value f1");
  EXPECT_EQ(bad.code, 1) << bad.output;
  EXPECT_NE(bad.output.find("statetune: error: " + path + ": --value f1: no done run has this eval metric"),
            std::string::npos)
      << bad.output;
  const CommandResult usage = run_statetune("report " + path + " --cols M");
  EXPECT_NE(usage.code, 0);
  EXPECT_NE(usage.output.find("--cols requires --pivot"), std::string::npos) << usage.output;
}

// The paper's layout: methods down, benchmarks across in the sweep's order, one headline
// score per benchmark (acc; GSM8K's strict exact match), the untuned model first.
TEST(ReportPivot, ThePapersTableLayout) {
  const std::string path = temp_dir("pivot_paper") + "/study.h5";
  {
    auto writer = StudyWriter::open(path, demo_study());
    auto done = [&](const std::string& hash, const std::string& method, const std::string& benchmark,
                    const std::string& metric, double before, double after) {
      finish(writer, run_with(hash, {{"method", method}, {"data.benchmark", benchmark}}, benchmark),
             scored({{metric, before, after}, {metric + "_other", 0, 0}}));
    };
    done("0000000000000001", "standard", "mmlu", "acc", 0.5, 0.625);
    done("0000000000000002", "standard", "gsm8k", "exact_match_strict", 0.25, 0.375);
    done("0000000000000003", "kernel", "mmlu", "acc", 0.5, 0.75);
    done("0000000000000004", "kernel", "gsm8k", "exact_match_strict", 0.25, 0.5);
    done("0000000000000005", "dbp", "mmlu", "acc", 0.5, 0.875);
  }
  const auto reader = StudyReader::open(path);
  PivotOptions paper{{"method"}, {"data.benchmark"}, "score.after"};
  paper.with_before = true;
  paper.as_planned = true;
  EXPECT_EQ(format_pivot(reader, paper),
            "pivot: score after tuning (score: acc, or exact_match_strict for GSM8K), mean over the done runs of each "
            "cell ('-': none)\n"
            "method \\ data.benchmark  mmlu    gsm8k\n"
            "(before tuning)          0.5000  0.2500\n"
            "standard                 0.6250  0.3750\n"
            "kernel                   0.7500  0.5000\n"
            "dbp                      0.8750  -\n");
  paper.as_planned = false;  // sorted
  const std::string sorted = format_pivot(reader, paper);
  EXPECT_NE(sorted.find("method \\ data.benchmark  gsm8k   mmlu\n"), std::string::npos) << sorted;
  EXPECT_LT(sorted.find("\ndbp "), sorted.find("\nkernel "));
  paper.value = "score";
  expect_error([&] { format_pivot(reader, paper); },
               path + ": --with-before: the untuned row needs raw values: --value score.after (or .before)");
}
