#pragma once
// The live state of a study's Slurm jobs, from squeue (not sacct: accounting may be off).
#include <string>
#include <vector>

namespace statetune::cluster {

// One squeue row: a job, an array task ("4242_7"), or pending array tasks ("4242_[8-99]").
struct JobRow {
  std::string id;
  std::string state;       // PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, ...
  std::string reason;      // why it pends (Priority, Resources, JobHeldUser, ...), "None"
  std::string nodes;       // the nodes it runs on, "" while pending
  std::string elapsed;     // "1:02:03"
  std::string time_limit;  // "1-00:00:00", "UNLIMITED"
};

struct JobQuery {
  std::string job_id;         // as recorded: "4242"
  std::vector<JobRow> rows;   // empty: no longer known to Slurm (finished over MinJobAge ago)
};

struct QueueState {
  bool available = false;       // squeue was found and answered
  std::string problem;          // why not: "squeue not found on PATH", squeue's error
  std::vector<JobQuery> jobs;   // one per id asked, in that order
};

// True for the states a job ends in (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...): it will not
// run again unless someone requeues it.
bool is_final_state(const std::string& state);

// True when some row of some job is not final: the study is still queued or running.
bool any_live(const QueueState& queue);

// `squeue -h -t all -j IDS`: every state the controller still remembers, finished jobs too.
QueueState query_jobs(const std::vector<std::string>& job_ids);

// squeue's -o output "id|state|reason|nodes|elapsed|limit" lines -> rows.
std::vector<JobRow> parse_squeue_rows(const std::string& text);

}  // namespace statetune::cluster
