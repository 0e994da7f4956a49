// Planning a study's scripts (submission.h): pure, nothing is written or queued.
#include <fmt/format.h>

#include "statetune/cluster/array_plan.h"
#include "statetune/cluster/submission.h"

namespace statetune::cluster {

SubmissionPlan plan_submission(const ClusterProfile& profile, const StudyJob& study, std::int64_t array_tasks,
                               const SlurmLimits& limits) {
  SubmissionPlan plan;
  const StudyFiles& files = study.files;
  if (array_tasks == 0) {
    const std::string path = files.script("job.sbatch");
    plan.scripts.push_back({path, render_study_job(profile, study, path),
                            fmt::format("the whole study on {} rank{}", profile.ranks(), profile.ranks() == 1 ? "" : "s")});
    plan.submit_now.push_back(0);
    plan.result_files.push_back(files.results);
    return plan;
  }

  const auto budget = limits.submit_budget();
  const ArrayPlan arrays = plan_array(array_tasks, limits.max_array_size, budget);
  for (std::int64_t task = 0; task < array_tasks; ++task) plan.result_files.push_back(files.task_results(task));
  if (arrays.chunk_count() > 1 && arrays.waves.size() == 1) {
    plan.notes.push_back(fmt::format("{} tasks exceed MaxArraySize {} ({}): split into {} array jobs", array_tasks,
                                     limits.max_array_size, limits.source, arrays.chunk_count()));
  }
  if (arrays.waves.size() > 1) {
    plan.notes.push_back(fmt::format(
        "{} tasks exceed the {} jobs that may still be queued (max_submit_jobs/MaxJobCount less {} queued): "
        "{} waves, each queued by a chain job once the wave before has left the queue",
        array_tasks, *budget, limits.queued_jobs_user, arrays.waves.size()));
  }

  // Chunk scripts in wave order, then one chain script per wave after the first.
  std::vector<std::vector<std::string>> wave_paths(arrays.waves.size());
  std::size_t chunk_index = 0;
  for (std::size_t w = 0; w < arrays.waves.size(); ++w) {
    for (const auto& chunk : arrays.waves[w]) {
      const std::string path = files.script(fmt::format("array{}.sbatch", chunk_index++));
      plan.scripts.push_back({path, render_array_chunk(profile, study, chunk, array_tasks, path),
                              fmt::format("array tasks {}-{} of {}", chunk.first_task,
                                          chunk.first_task + chunk.count - 1, array_tasks)});
      wave_paths[w].push_back(path);
      if (w == 0) plan.submit_now.push_back(plan.scripts.size() - 1);
    }
  }
  for (std::size_t w = 1; w < arrays.waves.size(); ++w) {
    const std::string path = files.script(fmt::format("chain{}.sbatch", w));
    const std::string next = w + 1 < arrays.waves.size() ? files.script(fmt::format("chain{}.sbatch", w + 1)) : "";
    plan.scripts.push_back({path, render_chain_job(profile, study, w, wave_paths[w], next),
                            fmt::format("chain job: queues wave {} of {}", w, arrays.waves.size() - 1)});
    if (w == 1) plan.first_chain = plan.scripts.size() - 1;
  }
  return plan;
}

}  // namespace statetune::cluster
