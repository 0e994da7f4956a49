#pragma once
// Where a submitted study keeps its files, all beside the results file RESULTS.h5:
//
//   RESULTS.h5             the study (one job), or the merge of the task files (arrays)
//   RESULTS.task{i}.h5     array task i's results (`statetune merge RESULTS.h5 RESULTS.task*.h5`)
//   RESULTS.slurm/         the rendered sbatch scripts (job.sbatch, array{c}.sbatch, chain{w}.sbatch)
//   RESULTS.slurm/jobs.log every job's life: submitted, start, signal, requeue, done (job_log.h)
//   RESULTS.slurm/logs/    the jobs' stdout and stderr
#include <cstdint>
#include <string>
#include <vector>

namespace statetune::cluster {

struct StudyFiles {
  std::string results;    // absolute, normalised
  std::string slurm_dir;  // RESULTS.slurm
  std::string logs_dir;   // RESULTS.slurm/logs
  std::string job_log;    // RESULTS.slurm/jobs.log
  // Task i's results file is task_prefix + i + task_suffix: RESULTS.task + i + .h5 (the
  // results file's extension is kept).
  std::string task_prefix, task_suffix;

  std::string task_results(std::int64_t task) const { return task_prefix + std::to_string(task) + task_suffix; }
  // The task files that exist, by task number.
  std::vector<std::string> existing_task_results() const;
  std::string script(const std::string& name) const { return slurm_dir + "/" + name; }
};

StudyFiles study_files(const std::string& results_path);

}  // namespace statetune::cluster
