#include "statetune/cluster/slurm_limits.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "statetune/cluster/process.h"
#include "statetune/common/error.h"

namespace statetune::cluster {
namespace {

std::optional<std::int64_t> config_number(const std::string& text, const std::string& key) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string name = line.substr(0, eq);
    name.erase(name.find_last_not_of(" \t") + 1);
    if (name != key) continue;
    std::istringstream value(line.substr(eq + 1));
    std::int64_t n = 0;
    if (value >> n) return n;
    return std::nullopt;
  }
  return std::nullopt;
}

std::string user_name() {
  if (const passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  return std::to_string(::getuid());
}

}  // namespace

std::optional<std::int64_t> SlurmLimits::submit_budget() const {
  std::optional<std::int64_t> budget;
  if (max_submit_jobs) budget = *max_submit_jobs - queued_jobs_user;
  if (max_job_count) {
    const std::int64_t system = *max_job_count - queued_jobs_all;
    budget = budget ? std::min(*budget, system) : system;
  }
  if (budget) budget = std::max<std::int64_t>(*budget, 0);
  return budget;
}

SlurmLimits parse_scontrol_config(const std::string& text) {
  SlurmLimits limits;
  const auto array_size = config_number(text, "MaxArraySize");
  if (!array_size || *array_size < 1) fail("scontrol show config: no MaxArraySize in its output");
  limits.max_array_size = *array_size;
  limits.max_job_count = config_number(text, "MaxJobCount");
  limits.source = "scontrol show config";
  return limits;
}

SlurmLimits query_slurm_limits() {
  const ProcessResult config = run_process({"scontrol", "show", "config"});
  if (!config.ok()) fail("cannot read the Slurm configuration (scontrol show config): {}", one_line(config));
  SlurmLimits limits = parse_scontrol_config(config.out);
  // -r: one line per array task, as each counts against the limits.
  const ProcessResult queue = run_process({"squeue", "-h", "-r", "-o", "%u"});
  if (!queue.ok()) fail("cannot list the queued jobs (squeue): {}", one_line(queue));
  const std::string me = user_name();
  std::istringstream lines(queue.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++limits.queued_jobs_all;
    if (line == me) ++limits.queued_jobs_user;
  }
  limits.source = "scontrol show config and squeue";
  return limits;
}

}  // namespace statetune::cluster
