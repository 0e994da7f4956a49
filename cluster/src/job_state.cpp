#include "statetune/cluster/job_state.h"

#include <set>
#include <sstream>

#include "statetune/cluster/process.h"

namespace statetune::cluster {
namespace {

std::vector<std::string> split_bars(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t bar = line.find('|', start);
    fields.push_back(line.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) return fields;
    start = bar + 1;
  }
}

// "4242_7" and "4242_[8-99]" belong to job 4242.
std::string base_id(const std::string& id) { return id.substr(0, id.find('_')); }

}  // namespace

bool is_final_state(const std::string& state) {
  static const std::set<std::string> final_states = {"COMPLETED", "FAILED",    "CANCELLED", "TIMEOUT",  "NODE_FAIL",
                                                     "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",  "PREEMPTED"};
  // squeue may append a flag ("CANCELLED by 0"); the first word is the state.
  return final_states.count(state.substr(0, state.find(' '))) != 0;
}

bool any_live(const QueueState& queue) {
  for (const auto& job : queue.jobs) {
    for (const auto& row : job.rows) {
      if (!is_final_state(row.state)) return true;
    }
  }
  return false;
}

std::vector<JobRow> parse_squeue_rows(const std::string& text) {
  std::vector<JobRow> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto f = split_bars(line);
    if (f.size() < 6 || f[0].empty()) continue;
    rows.push_back({f[0], f[1], f[2], f[3], f[4], f[5]});
  }
  return rows;
}

QueueState query_jobs(const std::vector<std::string>& job_ids) {
  QueueState state;
  for (const auto& id : job_ids) state.jobs.push_back({id, {}});
  if (!find_program("squeue")) {
    state.problem = "squeue not found on PATH";
    return state;
  }
  if (job_ids.empty()) {
    state.available = true;
    return state;
  }
  std::string list;
  for (const auto& id : job_ids) list += (list.empty() ? "" : ",") + id;
  const ProcessResult r = run_process({"squeue", "-h", "-t", "all", "-j", list, "-o", "%i|%T|%r|%N|%M|%l"});
  // When none of the ids is known any more, squeue says "Invalid job id specified" and exits 1.
  if (!r.ok() && r.err.find("Invalid job id") == std::string::npos) {
    state.problem = "squeue failed: " + one_line(r);
    return state;
  }
  state.available = true;
  for (auto& row : parse_squeue_rows(r.ok() ? r.out : "")) {
    for (auto& job : state.jobs) {
      if (job.job_id == base_id(row.id)) job.rows.push_back(row);
    }
  }
  return state;
}

}  // namespace statetune::cluster
