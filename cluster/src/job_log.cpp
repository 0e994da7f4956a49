#include "statetune/cluster/job_log.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "statetune/common/error.h"

namespace statetune::cluster {

std::vector<JobLogEntry> read_job_log(const std::string& path) {
  std::vector<JobLogEntry> entries;
  std::ifstream in(path);
  if (!in) return entries;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    JobLogEntry e;
    e.line = line;
    std::istringstream fields(line);
    if (fields >> e.time >> e.job >> e.event) {
      std::getline(fields >> std::ws, e.detail);
    } else {
      e = JobLogEntry{};
      e.line = line;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

void append_job_log(const std::string& path, const std::vector<JobLogEntry>& entries) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::app);
  const std::string now = utc_now();
  for (const auto& e : entries) out << now << ' ' << e.job << ' ' << e.event << ' ' << e.detail << '\n';
  out.flush();
  if (!out) fail("{}: cannot append to the job log", path);
}

std::vector<std::string> submitted_job_ids(const std::vector<JobLogEntry>& entries) {
  std::vector<std::string> ids;
  for (const auto& e : entries) {
    if (e.event != "submitted" || e.job.empty()) continue;
    if (std::find(ids.begin(), ids.end(), e.job) == ids.end()) ids.push_back(e.job);
  }
  return ids;
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace statetune::cluster
