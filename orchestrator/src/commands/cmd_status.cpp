// statetune status RESULTS.h5: a submitted study's runs by status (the results file, or the
// task files of an array before they are merged) and the live state of its Slurm jobs.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "statetune/cluster/job_log.h"
#include "statetune/cluster/job_state.h"
#include "statetune/cluster/study_attributes.h"
#include "statetune/cluster/study_files.h"
#include "statetune/common/error.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/results/study_reader.h"

namespace statetune::orchestrator {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kRowsPerJob = 20;  // squeue rows shown per job before summing them up
constexpr std::size_t kLogLines = 10;    // job log lines shown

struct StudyState {
  std::vector<std::string> files;  // the study files read
  std::string name;
  std::map<std::string, std::string> attributes;  // of the first file
  std::vector<results::RunInfo> runs;
  std::vector<std::string> per_file;  // "smoke.task0.h5: 3 done, 1 pending" (arrays)
};

std::string counts_text(const std::vector<results::RunInfo>& runs) {
  std::map<results::RunStatus, std::size_t> counts;
  for (const auto& run : runs) ++counts[run.status];
  std::string text;
  for (results::RunStatus s : results::kAllRunStatuses) {
    if (counts[s] == 0) continue;
    text += fmt::format("{}{} {}", text.empty() ? "" : ", ", counts[s], results::to_string(s));
  }
  return text.empty() ? "no runs yet" : text;
}

StudyState read_study(const cluster::StudyFiles& files) {
  StudyState state;
  if (fs::exists(files.results)) {
    state.files = {files.results};
  } else {
    state.files = files.existing_task_results();
    if (state.files.empty()) {
      fail("{}: no such study file, nor array task files {}N{}", files.results, files.task_prefix, files.task_suffix);
    }
  }
  for (const auto& path : state.files) {
    const results::StudyReader reader = results::StudyReader::open(path, results::ReadDetail::kStatus);
    const results::StudyHeader header = reader.header();
    if (state.name.empty()) {
      state.name = header.info.name;
      state.attributes = header.attributes;
    }
    std::vector<results::RunInfo> runs = reader.runs();
    if (state.files.size() > 1) state.per_file.push_back(fmt::format("{}: {}", fs::path(path).filename().string(), counts_text(runs)));
    state.runs.insert(state.runs.end(), runs.begin(), runs.end());
  }
  return state;
}

void print_runs(const StudyState& study) {
  std::printf("study '%s': %zu runs: %s\n", study.name.c_str(), study.runs.size(), counts_text(study.runs).c_str());
  if (study.files.size() > 1) {
    std::printf("  from %zu array task files (merge them when done):\n", study.files.size());
    for (const auto& line : study.per_file) std::printf("    %s\n", line.c_str());
  }
  for (const auto& run : study.runs) {
    switch (run.status) {
      case results::RunStatus::kRunning:
        std::printf("  running      %s on %s since %s (attempt %lld)\n", run.description.hash.c_str(), run.host.c_str(),
                    run.started.c_str(), static_cast<long long>(run.attempts));
        break;
      case results::RunStatus::kFailed:
      case results::RunStatus::kDiverged:
      case results::RunStatus::kInterrupted:
        std::printf("  %-12s %s (attempt %lld): %s\n", std::string(results::to_string(run.status)).c_str(),
                    run.description.hash.c_str(), static_cast<long long>(run.attempts),
                    run.message.substr(0, run.message.find('\n')).c_str());
        break;
      default:
        break;
    }
  }
}

std::string row_text(const cluster::JobRow& row) {
  if (row.state == "PENDING") return fmt::format("  {:<16} {:<11} ({})", row.id, row.state, row.reason);
  if (cluster::is_final_state(row.state)) return fmt::format("  {:<16} {:<11} after {}", row.id, row.state, row.elapsed);
  return fmt::format("  {:<16} {:<11} {} of {} on {}", row.id, row.state, row.elapsed, row.time_limit, row.nodes);
}

void print_jobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) {
    std::printf("no Slurm jobs recorded (the study was not submitted with statetune submit)\n");
    return;
  }
  std::string ids;
  for (const auto& id : job_ids) ids += " " + id;
  const cluster::QueueState queue = cluster::query_jobs(job_ids);
  if (!queue.available) {
    std::printf("Slurm jobs:%s: live state unknown: %s\n", ids.c_str(), queue.problem.c_str());
    return;
  }
  std::printf("Slurm jobs (squeue):\n");
  for (const auto& job : queue.jobs) {
    if (job.rows.empty()) {
      std::printf("  %-16s no longer known to Slurm (ended more than MinJobAge ago; see the job log)\n",
                  job.job_id.c_str());
      continue;
    }
    for (std::size_t i = 0; i < job.rows.size() && i < kRowsPerJob; ++i) std::printf("%s\n", row_text(job.rows[i]).c_str());
    if (job.rows.size() > kRowsPerJob) {
      std::map<std::string, std::size_t> states;
      for (std::size_t i = kRowsPerJob; i < job.rows.size(); ++i) ++states[job.rows[i].state];
      std::string rest;
      for (const auto& [state, n] : states) rest += fmt::format("{}{} {}", rest.empty() ? "" : ", ", n, state);
      std::printf("  ... and %zu more rows of job %s: %s\n", job.rows.size() - kRowsPerJob, job.job_id.c_str(), rest.c_str());
    }
  }
}

void run_status(const std::string& path) {
  const cluster::StudyFiles files = cluster::study_files(path);
  const StudyState study = read_study(files);
  print_runs(study);

  const auto dir = study.attributes.find(cluster::attributes::kSlurmDir);
  const std::string job_log = dir != study.attributes.end() ? dir->second + "/jobs.log" : files.job_log;
  const std::vector<cluster::JobLogEntry> log = cluster::read_job_log(job_log);
  std::vector<std::string> job_ids;
  const auto recorded = study.attributes.find(cluster::attributes::kJobIds);
  if (recorded != study.attributes.end()) job_ids = cluster::attributes::split_job_ids(recorded->second);
  for (const auto& id : cluster::submitted_job_ids(log)) {
    if (std::find(job_ids.begin(), job_ids.end(), id) == job_ids.end()) job_ids.push_back(id);
  }
  print_jobs(job_ids);

  if (!log.empty()) {
    const std::size_t first = log.size() > kLogLines ? log.size() - kLogLines : 0;
    const std::string shown = first > 0 ? fmt::format("last {} of ", kLogLines) : "";
    std::printf("job log %s (%s%zu lines):\n", job_log.c_str(), shown.c_str(), log.size());
    for (std::size_t i = first; i < log.size(); ++i) std::printf("  %s\n", log[i].line.c_str());
  }
}

}  // namespace

void add_status_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "status",
      "A submitted study: its runs by status (RESULTS.h5, or RESULTS.task*.h5 of an array before merging),\n"
      "the live state of its Slurm jobs (squeue; jobs recorded by `statetune submit` and those requeued or\n"
      "resubmitted since), and the last lines of its job log.");
  auto file = std::make_shared<std::string>();
  sub->add_option("RESULTS", *file, "The study's HDF5 results file, as given to submit --out")->required();
  set_command_body(*sub, [file] { run_status(*file); });
}

}  // namespace statetune::orchestrator
