#pragma once
// The Slurm limits that decide how an array of K tasks is submitted:
//   MaxArraySize   (scontrol show config) array indices must be below it, so an array of more
//                  tasks is split into chunks, each indexed from 0 with its own task offset;
//   MaxSubmitJobs  the per-user limit of queued jobs (a QOS/association limit; every array task
//                  counts). `scontrol show config` does not show it: the cluster profile's
//                  max_submit_jobs states it;
//   MaxJobCount    (scontrol show config) the controller's limit of jobs in the queue, all users.
// The jobs already in the queue count against both.
#include <cstdint>
#include <optional>
#include <string>

namespace statetune::cluster {

struct SlurmLimits {
  std::int64_t max_array_size = 1001;          // Slurm's default
  std::optional<std::int64_t> max_job_count;   // none: no limit known
  std::optional<std::int64_t> max_submit_jobs; // none: no limit known
  std::int64_t queued_jobs_user = 0;           // this user's jobs (array tasks each) in the queue
  std::int64_t queued_jobs_all = 0;            // everyone's
  std::string source;                          // where the numbers came from, for the user

  // How many more jobs may be queued now; nullopt when no limit is known.
  std::optional<std::int64_t> submit_budget() const;
};

// The key = value lines of `scontrol show config` -> MaxArraySize and MaxJobCount (other
// fields keep their defaults). Throws statetune::Error when MaxArraySize is missing or not a number.
SlurmLimits parse_scontrol_config(const std::string& text);

// Asks the cluster: `scontrol show config`, and `squeue` for the jobs already queued. Throws
// statetune::Error with scontrol's message when the controller cannot be reached.
SlurmLimits query_slurm_limits();

}  // namespace statetune::cluster
