// End-to-end: `statetune plan SWEEP.yaml [key=value ...] [--out RESULTS.h5]` as a user runs
// it: the counts, one line per run with unique hashes, errors naming file and line. (Statuses
// read from a real study file: tests/results/plan_status_test.cpp, which can write one.)
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cli_runner.h"
#include "test_paths.h"

namespace {

using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

// 3 methods x M [16, 32] x 2 seeds = 12 combinations; dbp with M 32 excluded (2); M does not
// apply to standard, so its M 32 runs collapse (2): 8 runs.
const char* kSweep =
    "base:\n"
    "  output: states/{hash}.pth\n"
    "  data: {benchmark: jsonl}\n"
    "  steps: 4\n"
    "grid:\n"
    "  method: [standard, kernel, dbp]\n"
    "  M: [16, 32]\n"
    "  seed: [0, 1]\n"
    "exclude:\n"
    "  - {method: dbp, M: 32}\n";

const char* kInputs = " model=m.pth vocab=v.txt data.train=train.jsonl";

struct PlanLine {
  std::string index, hash;
  std::vector<std::string> fields;  // the axis values, then the status when shown
};

// The run lines of plan's output (those starting with an index).
std::vector<PlanLine> run_lines(const std::string& output) {
  std::vector<PlanLine> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || !std::isdigit(static_cast<unsigned char>(line[0]))) continue;
    std::istringstream words(line);
    PlanLine p;
    words >> p.index >> p.hash;
    for (std::string w; words >> w;) p.fields.push_back(w);
    lines.push_back(p);
  }
  return lines;
}

class PlanCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("plan_cli");
    std::ofstream(dir_ + "/sweep.yaml") << kSweep;
  }
  static std::string sweep() { return dir_ + "/sweep.yaml"; }
  static std::string dir_;
};
std::string PlanCli::dir_;

TEST_F(PlanCli, PrintsTheCountsAndOneLinePerRun) {
  const CommandResult r = run_statetune("plan " + sweep() + kInputs);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("combinations: 12, excluded: 2, duplicates collapsed: 2, runs: 8\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("\nindex  hash              method    M   seed\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("status"), std::string::npos) << "no status without --out:\n" << r.output;

  const std::vector<PlanLine> lines = run_lines(r.output);
  ASSERT_EQ(lines.size(), 8u) << r.output;
  const std::vector<std::vector<std::string>> axes = {{"standard", "-", "0"}, {"standard", "-", "1"},
                                                      {"kernel", "16", "0"},  {"kernel", "16", "1"},
                                                      {"kernel", "32", "0"},  {"kernel", "32", "1"},
                                                      {"dbp", "16", "0"},     {"dbp", "16", "1"}};
  std::set<std::string> hashes;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].index, std::to_string(i));
    EXPECT_TRUE(std::regex_match(lines[i].hash, std::regex("[0-9a-f]{16}"))) << lines[i].hash;
    hashes.insert(lines[i].hash);
    EXPECT_EQ(lines[i].fields, axes[i]) << "run " << i;
  }
  EXPECT_EQ(hashes.size(), 8u) << "hashes must be unique";
}

TEST_F(PlanCli, HashesAreStableAndFollowTheOverrides) {
  const auto a = run_lines(run_statetune("plan " + sweep() + kInputs).output);
  const auto b = run_lines(run_statetune("plan " + sweep() + kInputs).output);
  const auto c = run_lines(run_statetune("plan " + sweep() + kInputs + " lr=0.5").output);
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), 8u);
  ASSERT_EQ(c.size(), 8u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].hash, b[i].hash);
    EXPECT_NE(a[i].hash, c[i].hash) << "lr is part of every run's identity";
  }
}

TEST_F(PlanCli, EveryRunIsNewForAResultsFileNotYetWritten) {
  const std::string out = dir_ + "/absent.h5";
  const CommandResult r = run_statetune("plan " + sweep() + kInputs + " --out " + out);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find(out + " does not exist yet: every run is new\n"), std::string::npos) << r.output;
  const auto lines = run_lines(r.output);
  ASSERT_EQ(lines.size(), 8u);
  for (const auto& line : lines) EXPECT_EQ(line.fields.back(), "new");
  EXPECT_NE(r.output.find("\nstatus: new 8\n"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out)) << "plan must not create the results file";
}

TEST_F(PlanCli, BadInputIsAOneLineErrorNamingFileLineAndKey) {
  const std::string bad = dir_ + "/bad.yaml";
  std::ofstream(bad) << "base:\n  output: o/{hash}.pth\n  data: {benchmark: jsonl}\ngrid:\n  M: [16, abc]\n";
  CommandResult r = run_statetune("plan " + bad + kInputs);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "statetune: error: " + bad + ":5: key 'M': expected an integer, got 'abc'\n");

  r = run_statetune("plan " + sweep());  // the inputs are not in the file
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "statetune: error: " + sweep() +
                          ":1: missing required key 'data.train' (training examples; a named benchmark without "
                          "it: its fetched split)\n");

  r = run_statetune("plan " + sweep() + kInputs + " M=64");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "statetune: error: command line: M=64: key 'M' is an axis of the sweep (" + sweep() +
                          ":7); an override sets one value for every run, so change the axis in the file instead\n");

  r = run_statetune("plan " + sweep() + kInputs + " stepz=3");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "statetune: error: command line: stepz=3: unknown key 'stepz' (did you mean 'steps'?)\n");

  std::ofstream(dir_ + "/text.h5") << "not hdf5\n";
  r = run_statetune("plan " + sweep() + kInputs + " --out " + dir_ + "/text.h5");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.output, "statetune: error: " + dir_ + "/text.h5: not an HDF5 file (expected a statetune study file)\n");
}

TEST_F(PlanCli, TheSmokeExampleExpandsWithItsDocumentedCommand) {
  const std::string smoke = std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/sweeps/examples/smoke.yaml";
  const CommandResult r =
      run_statetune("plan " + smoke + " model=m.pth vocab=vocab.txt data.train=train.jsonl data.eval=eval.jsonl");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("combinations: 6, excluded: 0, duplicates collapsed: 0, runs: 6\n"), std::string::npos)
      << r.output;
  EXPECT_EQ(run_lines(r.output).size(), 6u) << r.output;
}

}  // namespace
