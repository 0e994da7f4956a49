#pragma once
// `statetune submit`: the scripts of a study (planned without touching anything), and
// submitting them so that either everything is queued and recorded, or nothing is.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "statetune/cluster/cluster_profile.h"
#include "statetune/cluster/job_script.h"
#include "statetune/cluster/slurm_limits.h"

namespace statetune::cluster {

struct ScriptFile {
  std::string path;  // RESULTS.slurm/<name>.sbatch
  std::string text;
  std::string what;  // "the whole study", "array tasks 0-999 of 3000", "chain job of wave 1"
};

struct SubmissionPlan {
  std::vector<ScriptFile> scripts;         // every script of the study, written to RESULTS.slurm/
  std::vector<std::size_t> submit_now;     // indexes of the scripts statetune submit queues itself
  std::optional<std::size_t> first_chain;  // queued too, after them, to start when they have left the queue
  std::vector<std::string> result_files;   // the study files the jobs write
  std::vector<std::string> notes;          // how the limits shaped the plan, for the user
};

// array_tasks == 0: one job runs the whole study. array_tasks = K >= 1: K array tasks, each
// its own results file, chunked and waved by the limits (array_plan.h).
SubmissionPlan plan_submission(const ClusterProfile& profile, const StudyJob& study, std::int64_t array_tasks,
                               const SlurmLimits& limits);

// The job ids that a submission queued, in the order of plan.submit_now, then the chain job.
struct Submitted {
  std::vector<std::string> job_ids;
};

// Writes the scripts, queues them held (sbatch --parsable --hold), calls record(job ids)
// while they cannot start, moves the scripts into place, appends `submitted` lines to the
// job log, and releases the jobs (scontrol release). When sbatch or record fails, the jobs
// queued so far are cancelled and the scripts removed, and the error (with sbatch's message)
// is thrown: nothing is left queued or half-written. `record` must undo its own writes
// before it throws.
Submitted submit_plan(const SubmissionPlan& plan, const StudyFiles& files,
                      const std::function<void(const std::vector<std::string>& job_ids)>& record);

}  // namespace statetune::cluster
