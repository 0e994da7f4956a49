#pragma once
// Splitting K array tasks into what Slurm accepts (slurm_limits.h).
//
// A chunk is one array job with indices 0..count-1, which are the study's tasks
// first_task..first_task+count-1; no chunk has more than MaxArraySize tasks (indices must be
// below it; it limits the index, not the count, so the offset is what makes large K work).
//
// When every task fits in the submit budget (MaxSubmitJobs and MaxJobCount less the jobs
// already queued), all chunks form one wave, submitted at once. Otherwise the tasks go in
// waves of at most budget - 2 tasks: `statetune submit` queues wave 0 and a small chain job
// that waits for it to leave the queue (--dependency=afterany), then queues wave 1 and the
// next chain job, and so on. Two slots are kept for the chain jobs: the running one and the
// one it queues.
#include <cstdint>
#include <optional>
#include <vector>

namespace statetune::cluster {

struct ArrayChunk {
  std::int64_t first_task = 0;
  std::int64_t count = 0;
};

struct ArrayPlan {
  std::vector<std::vector<ArrayChunk>> waves;  // waves[0] is submitted at once

  std::size_t chunk_count() const;
};

// tasks >= 1, max_array_size >= 1. budget: how many jobs may still be queued (nullopt: no
// limit). Throws statetune::Error when the budget leaves no room (fewer than 3 slots with
// more tasks than slots).
ArrayPlan plan_array(std::int64_t tasks, std::int64_t max_array_size, std::optional<std::int64_t> budget);

}  // namespace statetune::cluster
