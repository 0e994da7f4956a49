#include "statetune/cluster/study_files.h"

#include <algorithm>
#include <filesystem>
#include <utility>

namespace statetune::cluster {

namespace fs = std::filesystem;

StudyFiles study_files(const std::string& results_path) {
  const fs::path results = fs::absolute(fs::path(results_path)).lexically_normal();
  fs::path stem = results;
  stem.replace_extension();
  StudyFiles files;
  files.results = results.string();
  files.slurm_dir = stem.string() + ".slurm";
  files.logs_dir = files.slurm_dir + "/logs";
  files.job_log = files.slurm_dir + "/jobs.log";
  files.task_prefix = stem.string() + ".task";
  files.task_suffix = results.extension().string();
  return files;
}

std::vector<std::string> StudyFiles::existing_task_results() const {
  const std::string& extension = task_suffix;
  const std::string prefix = fs::path(task_prefix).filename().string();
  std::vector<std::pair<long long, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(results).parent_path(), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= prefix.size() + extension.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    if (name.compare(name.size() - extension.size(), extension.size(), extension) != 0) continue;
    const std::string number = name.substr(prefix.size(), name.size() - prefix.size() - extension.size());
    if (number.empty() || number.size() > 12 || number.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stoll(number), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [task, p] : found) paths.push_back(std::move(p));
  return paths;
}

}  // namespace statetune::cluster
