#include "statetune/cluster/array_plan.h"

#include <algorithm>

#include "statetune/common/error.h"

namespace statetune::cluster {

std::size_t ArrayPlan::chunk_count() const {
  std::size_t n = 0;
  for (const auto& wave : waves) n += wave.size();
  return n;
}

ArrayPlan plan_array(std::int64_t tasks, std::int64_t max_array_size, std::optional<std::int64_t> budget) {
  ST_CHECK(tasks >= 1, "--array: expected at least 1 task, got {}", tasks);
  ST_CHECK(max_array_size >= 1, "MaxArraySize: expected at least 1, got {}", max_array_size);
  std::int64_t wave_size = tasks;
  if (budget && tasks > *budget) {
    ST_CHECK(*budget >= 3,
             "--array {}: only {} more jobs may be queued now (MaxSubmitJobs/MaxJobCount less the jobs already "
             "queued); splitting into waves needs at least 3; wait for queued jobs to finish or use a smaller --array",
             tasks, *budget);
    wave_size = *budget - 2;
  }
  ArrayPlan plan;
  for (std::int64_t wave_first = 0; wave_first < tasks; wave_first += wave_size) {
    const std::int64_t wave_end = std::min(tasks, wave_first + wave_size);
    std::vector<ArrayChunk> wave;
    for (std::int64_t first = wave_first; first < wave_end; first += max_array_size) {
      wave.push_back({first, std::min(max_array_size, wave_end - first)});
    }
    plan.waves.push_back(std::move(wave));
  }
  return plan;
}

}  // namespace statetune::cluster
