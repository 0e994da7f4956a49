#pragma once
// Small files for the cluster tests: profiles, a sweep, and the text helpers they share
// (replace_all is cli_runner.h's).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_runner.h"  // replace_all
#include "test_paths.h"

namespace statetune::testing {

// Writes `text` to dir/name and returns the path.
inline std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const auto path = std::filesystem::path(dir) / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
  return path.string();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A sweep of 6 runs (3 methods x 2 seeds) whose inputs need not exist: expansion does not
// open them.
inline const char* kSweep =
    "base:\n"
    "  model: m.pth\n"
    "  vocab: v.txt\n"
    "  output: states/{hash}.pth\n"
    "  data: {benchmark: jsonl, train: train.jsonl}\n"
    "  steps: 4\n"
    "grid:\n"
    "  method: [standard, kernel, dbp]\n"
    "  seed: [0, 1]\n";

// The profile of the golden test: a GPU cluster, every key that renders an #SBATCH line.
inline const char* kGpuProfile =
    "partition: gpu\n"
    "account: proj42\n"
    "qos: normal\n"
    "time_limit: \"1-00:00:00\"\n"
    "nodes: 2\n"
    "ranks_per_node: 4\n"
    "gpus_per_node: h100:4\n"
    "cpus_per_rank: 16\n"
    "memory: 400G\n"
    "constraint: ib\n"
    "modules: [cuda/12.4, openmpi/4.1.6]\n"
    "setup:\n"
    "  - export NCCL_DEBUG=WARN\n"
    "launcher: srun --mpi=pmix\n"
    "extra_sbatch: [\"--exclusive\"]\n"
    "signal_warning_seconds: 600\n"
    "max_requeues: 5\n";

}  // namespace statetune::testing
