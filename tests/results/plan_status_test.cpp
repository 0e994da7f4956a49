// `statetune plan SWEEP.yaml --out RESULTS.h5` reads each run's status from a real study
// file. The test asks plan for the hashes, writes a study holding those runs in every status
// (through StudyWriter, as `statetune sweep` does), and plans again.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_runner.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

// 7 runs: seed 0..6.
const char* kSweep =
    "base:\n"
    "  model: m.pth\n"
    "  vocab: v.txt\n"
    "  output: states/{hash}.pth\n"
    "  data: {benchmark: jsonl, train: train.jsonl}\n"
    "grid:\n"
    "  seed: [0, 1, 2, 3, 4, 5, 6]\n";

struct Planned {
  std::string hash;
  std::string last;  // the last word of the line: the status when --out is given
};

std::vector<Planned> planned_runs(const std::string& output) {
  std::vector<Planned> runs;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    std::istringstream words(line);
    Planned p;
    std::string index;
    words >> index >> p.hash;
    for (std::string w; words >> w;) p.last = w;
    runs.push_back(p);
  }
  return runs;
}

RunOutcome ended(RunStatus status) {
  RunOutcome o = demo_outcome(0.25, 0.5);
  o.status = status;
  if (status != RunStatus::kDone) {
    o.summary.clear();
    o.items.clear();
    o.message = "stopped";
  }
  return o;
}

TEST(PlanStatus, EachRunShowsItsStatusInTheStudyFile) {
  if (!std::filesystem::exists(statetune_binary())) {
    GTEST_SKIP() << "SKIPPED: " << statetune_binary() << " is not built (build the statetune target)";
  }
  const std::string dir = temp_dir("plan_status");
  const std::string sweep = dir + "/sweep.yaml";
  std::ofstream(sweep) << kSweep;
  const CommandResult first = run_statetune("plan " + sweep);
  ASSERT_EQ(first.code, 0) << first.output;
  const std::vector<Planned> runs = planned_runs(first.output);
  ASSERT_EQ(runs.size(), 7u) << first.output;

  // Runs 0-5 in every status a study file knows, run 6 absent, plus a run of another sweep.
  const std::string study = dir + "/study.h5";
  {
    auto writer = StudyWriter::open(study, demo_study());
    auto describe = [&](std::size_t i) { return demo_run(runs[i].hash, "standard", "1", std::to_string(i)); };
    writer.begin_run(describe(0));
    writer.finish_run(runs[0].hash, ended(RunStatus::kDone));
    writer.begin_run(describe(1));
    writer.finish_run(runs[1].hash, ended(RunStatus::kFailed));
    writer.begin_run(describe(2));
    writer.finish_run(runs[2].hash, ended(RunStatus::kDiverged));
    writer.begin_run(describe(3));
    writer.finish_run(runs[3].hash, ended(RunStatus::kInterrupted));
    writer.begin_run(describe(4));  // running
    writer.declare_run(describe(5));  // pending
    writer.declare_run(demo_run("00000000000000ff", "kernel", "1", "9"));
  }

  const CommandResult r = run_statetune("plan " + sweep + " --out " + study);
  ASSERT_EQ(r.code, 0) << r.output;
  const std::vector<Planned> with_status = planned_runs(r.output);
  ASSERT_EQ(with_status.size(), 7u) << r.output;
  const char* expected[] = {"done", "failed", "diverged", "interrupted", "running", "pending", "new"};
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(with_status[i].hash, runs[i].hash);
    EXPECT_EQ(with_status[i].last, expected[i]) << "run " << i << "\n" << r.output;
  }
  EXPECT_NE(r.output.find("\nstatus: done 1, failed 1, diverged 1, interrupted 1, running 1, pending 1, new 1\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(study + " also holds runs not in this sweep: 1\n"), std::string::npos) << r.output;
}

}  // namespace
