#pragma once
// Writing small config files for the sweeps tests, and a minimal valid run config.
#include <filesystem>
#include <fstream>
#include <string>

#include "test_paths.h"

namespace statetune::testing {

// Writes `text` to dir/name (creating sub-folders) and returns the path.
inline std::string write_text(const std::string& dir, const std::string& name, const std::string& text) {
  const auto path = std::filesystem::path(dir) / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

// The required keys and nothing else. Line 1 is `model:`.
inline const char* kMinimalRun =
    "model: m.pth\n"
    "vocab: v.txt\n"
    "output: out.pth\n"
    "data:\n"
    "  benchmark: arc_challenge\n"
    "  train: train.jsonl\n";

// The `base:` of a sweep, six lines; what a test appends starts on line 7.
inline const std::string kSweepBase =
    "base:\n"
    "  model: m.pth\n"
    "  vocab: v.txt\n"
    "  output: states/{hash}.pth\n"
    "  data: {benchmark: arc_challenge, train: train.jsonl}\n"
    "  steps: 100\n";

}  // namespace statetune::testing
