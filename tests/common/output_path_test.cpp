// Output paths are made or refused before any work (common/output_path.h). Tests run as root,
// so "cannot write here" is a folder under a regular file, or /proc, never a chmod.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "statetune/common/output_path.h"
#include "test_paths.h"

namespace {

namespace fs = std::filesystem;
using statetune::check_output_path;
using statetune::prepare_output_folder;
using statetune::prepare_output_path;
using statetune::testing::expect_error;

// Everything under `dir`, so a test can say nothing was left behind (no probe, no folder).
size_t entries_under(const std::string& dir) {
  size_t n = 0;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) ++n;
  return n;
}

TEST(OutputPath, MakesTheMissingFoldersAndLeavesNoProbe) {
  const std::string dir = statetune::testing::temp_dir("output_path_make");
  prepare_output_path(dir + "/a/b/c/state.pth", "output");
  EXPECT_TRUE(fs::is_directory(dir + "/a/b/c"));
  EXPECT_EQ(entries_under(dir), 3u) << "the three folders, no probe file";
  prepare_output_path(dir + "/a/b/c/state.pth", "output");  // again: nothing to make
  std::ofstream(dir + "/a/old.pth") << "x";
  prepare_output_path(dir + "/a/old.pth", "output");  // an existing file is replaced later
  prepare_output_folder(dir + "/demo/out", "--out");
  EXPECT_TRUE(fs::is_directory(dir + "/demo/out"));
}

TEST(OutputPath, RefusesAFileOnTheWayAFolderAndUnwritablePlaces) {
  const std::string dir = statetune::testing::temp_dir("output_path_refuse");
  std::ofstream(dir + "/plain.txt") << "x";
  const std::string under_file = dir + "/plain.txt/sub/state.pth";
  expect_error([&] { prepare_output_path(under_file, "run.yaml: output"); },
               "run.yaml: output " + under_file + ": " + dir + "/plain.txt is a file, not a folder");
  expect_error([&] { prepare_output_path(dir + "/plain.txt/state.pth", "--json"); },
               dir + "/plain.txt is a file, not a folder");
  expect_error([&] { prepare_output_folder(dir + "/plain.txt", "--out"); }, "plain.txt is a file, not a folder");
  expect_error([&] { prepare_output_path(dir, "--out"); }, "--out " + dir + ": is a folder");
  expect_error([&] { prepare_output_path("/proc/statetune-test/x/r.h5", "--out"); },
               "--out /proc/statetune-test/x/r.h5: cannot create the folder /proc/statetune-test/x");
  expect_error([&] { prepare_output_path("/proc/r.h5", "--out"); }, "cannot create files in /proc");
  expect_error([&] { prepare_output_path("", "--out"); }, "--out: no path given");
  EXPECT_EQ(entries_under(dir), 1u) << "only plain.txt";
}

TEST(OutputPath, TheCheckAloneCreatesNothing) {
  const std::string dir = statetune::testing::temp_dir("output_path_check");
  check_output_path(dir + "/later/runs/x.pth", "output");
  check_output_path("relative-name.pth", "output");
  EXPECT_EQ(entries_under(dir), 0u);
  std::ofstream(dir + "/plain.txt") << "x";
  expect_error([&] { check_output_path(dir + "/plain.txt/runs/x.pth", "run 1a2b: output"); },
               "plain.txt is a file, not a folder");
  expect_error([&] { check_output_path("/proc/statetune-test/x.pth", "checkpoint"); },
               "checkpoint /proc/statetune-test/x.pth: cannot create the folder /proc/statetune-test: cannot create "
               "files in /proc");
  EXPECT_EQ(entries_under(dir), 1u);
}

}  // namespace
