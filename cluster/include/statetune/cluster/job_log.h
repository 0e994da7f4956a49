#pragma once
// RESULTS.slurm/jobs.log: one line per event in the life of a study's Slurm jobs, appended by
// `statetune submit` and by the job scripts themselves (requeues and resubmissions happen
// inside the jobs, so only they know the new job ids):
//
//   2025-01-31T12:00:00Z 4242 submitted /studies/s.slurm/job.sbatch by statetune submit
//   2025-01-31T12:00:07Z 4242 start attempt 0 on node17: 2 nodes, 8 ranks
//   2025-01-31T23:55:01Z 4242 signal SIGUSR1: passing it on to the ranks
//   2025-01-31T23:55:40Z 4242 requeue interrupted with checkpoints; requeueing (requeue 1 of 3)
//
// Fields: UTC time, job ("4242", or "4242_7" for an array task), event (one word), detail.
// A `submitted` line names a new job: the ids of a study are those of its `submitted` lines.
#include <string>
#include <vector>

namespace statetune::cluster {

struct JobLogEntry {
  std::string time;
  std::string job;
  std::string event;
  std::string detail;
  std::string line;  // the line as written
};

// The entries of the log; an absent file has none. Lines that do not parse are kept with
// only `line` set.
std::vector<JobLogEntry> read_job_log(const std::string& path);

// Appends one line per entry (time: now, UTC); creates the file.
void append_job_log(const std::string& path, const std::vector<JobLogEntry>& entries);

// The job ids of the `submitted` entries, in order, without repeats.
std::vector<std::string> submitted_job_ids(const std::vector<JobLogEntry>& entries);

// Now as "2025-01-31T12:00:00Z".
std::string utc_now();

}  // namespace statetune::cluster
