#pragma once
// What `sweep` will run: the sweep's runs against the statuses already in the results file.
// done runs are skipped (their stored config must equal this sweep's: the writer refuses a
// conflicting duplicate); failed/diverged ones only with --retry-failed; interrupted,
// pending and new ones run (continuing from their checkpoints unless --restart).
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "statetune/results/records.h"
#include "statetune/sweeps/sweep.h"

namespace statetune::orchestrator {

struct SweepFlags {
  bool retry_failed = false;  // run failed/diverged runs again
  int shard = 0, shards = 1;  // --shard I/K: runs whose index % K == I
};

struct StudyPlan {
  std::vector<std::size_t> to_run;  // indices into sweep.runs, expansion order
  std::size_t already_done = 0;
  std::size_t skipped_failed = 0;   // failed/diverged, not retried
  std::size_t other_shards = 0;     // left to other --shard tasks
};

// `existing`: the status of each hash already in the results file (empty for a new file).
StudyPlan plan_study(const sweeps::Sweep& sweep, const std::map<std::string, results::RunStatus>& existing,
                     const SweepFlags& flags);

// The description stored for a run: config YAML, canonical text, axes, flattened config.
results::RunDescription describe_run(const sweeps::SweepRun& run);

// "--shard 1/4" -> {1, 4}; errors name the flag and the expected form.
std::pair<int, int> parse_shard(const std::string& text);

}  // namespace statetune::orchestrator
