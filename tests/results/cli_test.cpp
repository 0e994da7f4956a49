// `statetune report` and `statetune merge` as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>

#include <fmt/format.h>

#include "cli_runner.h"
#include "statetune/common/file_io.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

class ResultsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(statetune_binary())) {
      GTEST_SKIP() << "SKIPPED: " << statetune_binary() << " is not built (build the statetune target)";
    }
    dir_ = temp_dir("results_cli");
  }
  // One array task's file: the runs of `seeds`, all done.
  std::string write_task(const std::string& name, std::initializer_list<int> seeds) {
    const std::string path = dir_ + "/" + name;
    auto writer = StudyWriter::open(path, demo_study());
    for (int seed : seeds) {
      const RunDescription run = demo_run(fmt::format("{:016x}", seed), "kernel", "0.01", std::to_string(seed));
      writer.begin_run(run);
      writer.finish_run(run.hash, demo_outcome(0.25, 0.25 + 0.125 * seed));
    }
    return path;
  }
  std::string dir_;
};

TEST_F(ResultsCli, MergeThenReport) {
  const std::string t0 = write_task("t0.h5", {1, 2});
  const std::string t1 = write_task("t1.h5", {2, 3});
  const std::string all = dir_ + "/all.h5";
  CommandResult merged = run_statetune("merge " + all + " " + t0 + " " + t1);
  ASSERT_EQ(merged.code, 0) << merged.output;
  EXPECT_EQ(merged.output, "merged 2 files into " + all + ": 3 runs (1 duplicates)\n");

  CommandResult report = run_statetune("report " + all + " --csv " + dir_ + "/all.csv");
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_NE(report.output.find("runs: 3 (done 3)\n"), std::string::npos) << report.output;
  EXPECT_NE(report.output.find("0.01  kernel  3  0.2500 ± 0.0000  0.5000 ± 0.1250  +0.2500 ± 0.1250\n"),
            std::string::npos)
      << report.output;
  const std::string csv = statetune::read_file_bytes(dir_ + "/all.csv");
  EXPECT_EQ(csv.substr(0, csv.find('\n')), "hash,status,lr,method,seed,metric,before,after,diff");
}

TEST_F(ResultsCli, BadFilesAreOneLineErrors) {
  CommandResult missing = run_statetune("report " + dir_ + "/missing.h5");
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.output, "statetune: error: " + dir_ + "/missing.h5: no such file\n");
  statetune::write_file_atomic(dir_ + "/text.h5", "not hdf5\n");
  CommandResult text = run_statetune("merge " + dir_ + "/out.h5 " + dir_ + "/text.h5");
  EXPECT_EQ(text.code, 1);
  EXPECT_EQ(text.output,
            "statetune: error: " + dir_ + "/text.h5: not an HDF5 file (expected a statetune study file)\n");
}

}  // namespace
