// End-to-end: `statetune bench tune` on the small shape (each method in its own child process).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "test_paths.h"

namespace {

using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

TEST(BenchTuneCli, SmallShapePrintsARowPerMethodWithRatiosToStandard) {
  CommandResult r = run_statetune("bench tune --small --steps 1 --seq-len 32 --threads 1");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("small shape"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("T=32, batch=4, threads=1"), std::string::npos) << r.output;

  std::istringstream lines(r.output);
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(lines, line);) {
    const std::vector<std::string> w = split_words(line);
    if (w.empty()) continue;
    if (w[0] == "method") header = w;
    if (w[0] == "standard" || w[0] == "kernel" || w[0] == "dbp") rows.push_back(w);
  }
  ASSERT_FALSE(header.empty()) << r.output;
  size_t ratio_col = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "ratio") ratio_col = i;
  }
  ASSERT_LT(ratio_col, header.size()) << r.output;

  // The default methods, standard first, then kernel and dbp at M = 128 and 256.
  const std::vector<std::pair<std::string, std::string>> expected{
      {"standard", "-"}, {"kernel", "128"}, {"kernel", "256"}, {"dbp", "128"}, {"dbp", "256"}};
  ASSERT_EQ(rows.size(), expected.size()) << r.output;
  for (size_t i = 0; i < rows.size(); ++i) {
    ASSERT_GT(rows[i].size(), ratio_col) << r.output;
    EXPECT_EQ(rows[i][0], expected[i].first) << r.output;
    EXPECT_EQ(rows[i][1], expected[i].second) << r.output;
    const std::string& ratio = rows[i][ratio_col];
    ASSERT_EQ(ratio.back(), 'x') << r.output;
    EXPECT_GT(std::stod(ratio.substr(0, ratio.size() - 1)), 0.0) << r.output;
  }
  EXPECT_EQ(rows[0][ratio_col], "1.000x") << r.output;
  EXPECT_NE(r.output.find("overhead dbp:256"), std::string::npos) << r.output;
}

TEST(BenchTuneCli, RejectsAnUnknownMethod) {
  CommandResult r = run_statetune("bench tune --small --steps 1 --seq-len 8 --methods standard,lora:4 --threads 1");
  EXPECT_NE(r.code, 0) << r.output;
}

}  // namespace
