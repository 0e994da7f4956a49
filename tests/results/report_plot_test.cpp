// `statetune report RESULTS.h5 --plot FILE.png`: draws loss curves and the metric against M
// and dbp_lambda with results/python/statetune_plot.py (/usr/bin/python3, matplotlib).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli_runner.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

// kernel and dbp runs over M and dbp_lambda with loss curves, and one standard run.
std::string write_study(const std::string& dir) {
  const std::string path = dir + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study());
  int n = 0;
  auto run = [&](const std::string& method, const std::string& M, const std::string& lambda, double after) {
    RunDescription d = demo_run(fmt::format("{:016x}", ++n), method, "0.01", "0");
    d.axes = {{"method", method}, {"seed", "0"}};
    if (!M.empty()) d.axes["M"] = d.config["M"] = M;
    if (!lambda.empty()) d.axes["dbp_lambda"] = d.config["dbp_lambda"] = lambda;
    d.canonical_text += "M: " + M + "\ndbp_lambda: " + lambda + "\n";
    writer.begin_run(d);
    for (int s = 0; s < 4; ++s) writer.append_step(d.hash, demo_step(s));
    writer.finish_run(d.hash, demo_outcome(0.25, after));
  };
  run("standard", "", "", 0.375);
  run("kernel", "64", "", 0.5);
  run("kernel", "128", "", 0.625);
  run("dbp", "64", "1", 0.5);
  run("dbp", "64", "10", 0.75);
  run("dbp", "128", "1", 0.625);
  return path;
}

bool has_plot_modules() {
  return run_command("/usr/bin/python3 -c 'import matplotlib, pandas, h5py, numpy'").code == 0;
}

class ReportPlot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(statetune_binary())) {
      GTEST_SKIP() << "SKIPPED: " << statetune_binary() << " is not built (build the statetune target)";
    }
    dir_ = temp_dir("report_plot");
  }
  std::string dir_;
};

TEST_F(ReportPlot, WritesANonEmptyPng) {
  if (!has_plot_modules()) {
    GTEST_SKIP() << "SKIPPED LOUDLY: /usr/bin/python3 lacks matplotlib/pandas/h5py "
                    "(apt install python3-matplotlib python3-pandas python3-h5py); report --plot is untested";
  }
  const std::string study = write_study(dir_);
  const std::string png = dir_ + "/study.png";
  const CommandResult r = run_statetune("report " + study + " --plot " + png);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote " + png + "\n"), std::string::npos) << r.output;
  ASSERT_TRUE(std::filesystem::exists(png));
  EXPECT_GT(std::filesystem::file_size(png), 10000u) << "a 1600x450 figure with three panels";
  std::ifstream in(png, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(ReportPlot, ErrorsAreOneLine) {
  if (!has_plot_modules()) GTEST_SKIP() << "SKIPPED LOUDLY: /usr/bin/python3 lacks matplotlib/pandas/h5py";
  const std::string study = write_study(dir_);
  const CommandResult bad = run_statetune("report " + study + " --metric acc_norm --plot " + dir_ + "/no/such/dir/x.png");
  EXPECT_EQ(bad.code, 1) << bad.output;
  EXPECT_NE(bad.output.find("statetune: error: --plot: statetune_plot.py: " + study + ": "), std::string::npos)
      << bad.output;
  // Where the script is not found, the error says how to point at it.
  const CommandResult missing =
      run_command("STATETUNE_PYTHON_DIR=" + dir_ + " " + statetune_binary() + " report " + study + " --plot " + dir_ + "/x.png");
  EXPECT_EQ(missing.code, 1) << missing.output;
  EXPECT_NE(missing.output.find("statetune: error: --plot: " + dir_ +
                                "/statetune_plot.py not found (set STATETUNE_PYTHON_DIR to the folder holding "
                                "statetune_plot.py)"),
            std::string::npos)
      << missing.output;
}

}  // namespace
