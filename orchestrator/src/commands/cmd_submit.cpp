// statetune submit SWEEP.yaml --cluster CLUSTER.yaml --out RESULTS.h5: a study on Slurm.
// The cluster module renders and queues the sbatch scripts; this file ties them to the study
// file: it checks the results file before anything is queued and records the jobs in it while
// they are held.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "statetune/cluster/cluster_profile.h"
#include "statetune/cluster/job_log.h"
#include "statetune/cluster/job_state.h"
#include "statetune/cluster/process.h"
#include "statetune/cluster/study_attributes.h"
#include "statetune/cluster/submission.h"
#include "statetune/common/error.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/study_identity.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "statetune/sweeps/sweep.h"
#include "cli/study_paths.h"
#include "run/fetched_inputs.h"

namespace statetune::orchestrator {
namespace {

namespace fs = std::filesystem;

struct SubmitOptions {
  std::string sweep, cluster, out, comm;
  std::vector<std::string> overrides;
  std::int64_t array = 0;
  int ranks_per_run = 1;
  int threads = 0;
  bool dry_run = false;
};

std::string this_binary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find this program's path (/proc/self/exe): {}; set statetune_binary in the cluster profile", ec.message());
  return self.string();
}

std::vector<std::string> sweep_options(const SubmitOptions& o, const cluster::ClusterProfile& profile) {
  std::vector<std::string> options;
  if (o.ranks_per_run != 1) options.insert(options.end(), {"--ranks-per-run", std::to_string(o.ranks_per_run)});
  if (!o.comm.empty()) options.insert(options.end(), {"--comm", o.comm});
  const std::int64_t threads = o.threads > 0 ? o.threads : profile.cpus_per_rank.value_or(0);
  if (threads > 0) options.insert(options.end(), {"--threads", std::to_string(threads)});
  return options;
}

// The limits that shape an array; for a dry run without a reachable Slurm, its defaults.
cluster::SlurmLimits array_limits(const SubmitOptions& o, const cluster::ClusterProfile& profile) {
  cluster::SlurmLimits limits;
  if (o.dry_run && !cluster::find_program("scontrol")) {
    limits.source = "Slurm's default; scontrol not found, so the cluster's limits are unknown";
    std::printf("# note: scontrol not found: assuming MaxArraySize %lld (Slurm's default) and no MaxJobCount\n",
                static_cast<long long>(limits.max_array_size));
  } else if (o.dry_run) {
    try {
      limits = cluster::query_slurm_limits();
    } catch (const Error& e) {
      limits.source = "Slurm's default; the cluster did not answer";
      std::printf("# note: %s: assuming MaxArraySize %lld (Slurm's default) and no MaxJobCount\n", e.what(),
                  static_cast<long long>(limits.max_array_size));
    }
  } else {
    limits = cluster::query_slurm_limits();
  }
  limits.max_submit_jobs = profile.max_submit_jobs;
  return limits;
}

// Refuses a results file of another study, or one whose jobs are still queued: a second set
// of jobs writing the same file would lose updates.
void check_results_files(const std::vector<std::string>& paths, const results::StudyInfo& info,
                         const cluster::StudyFiles& files) {
  std::vector<std::string> job_ids = cluster::submitted_job_ids(cluster::read_job_log(files.job_log));
  for (const auto& path : paths) {
    if (!fs::exists(path)) continue;
    const results::StudyHeader header = results::StudyReader::open(path).header();
    if (header.info.name != info.name) {
      fail("{}: the file holds study '{}', not '{}'; use another --out file", path, header.info.name, info.name);
    }
    if (header.info.sweep_yaml != info.sweep_yaml) {
      fail("{}: the file was written by a different sweep or other overrides (the sweep text differs); use another "
           "--out file",
           path);
    }
    const auto recorded = header.attributes.find(cluster::attributes::kJobIds);
    if (recorded == header.attributes.end()) continue;
    for (const auto& id : cluster::attributes::split_job_ids(recorded->second)) {
      if (std::find(job_ids.begin(), job_ids.end(), id) == job_ids.end()) job_ids.push_back(id);
    }
  }
  if (job_ids.empty()) return;
  const cluster::QueueState queue = cluster::query_jobs(job_ids);
  if (!queue.available) fail("cannot check whether the study's jobs are still queued: {}", queue.problem);
  if (cluster::any_live(queue)) {
    std::string live;
    for (const auto& job : queue.jobs) {
      for (const auto& row : job.rows) {
        if (!cluster::is_final_state(row.state)) live += fmt::format(" {} ({})", row.id, row.state);
      }
    }
    fail("{}: the study already has jobs in the queue:{}; wait for them or scancel them first", files.results, live);
  }
}

std::string scripts_text(const cluster::SubmissionPlan& plan) {
  std::string text;
  for (const auto& script : plan.scripts) {
    text += fmt::format("# ==== {} ({}) ====\n{}", script.path, script.what, script.text);
  }
  return text;
}

// Records the held jobs in every results file; on failure removes the files it created.
void record_jobs(const std::vector<std::string>& paths, const results::StudyInfo& info,
                 const std::map<std::string, std::string>& attributes) {
  std::vector<std::string> created;
  try {
    for (const auto& path : paths) {
      const bool existed = fs::exists(path);
      if (!existed) created.push_back(path);
      results::StudyWriter writer = results::StudyWriter::open(path, info);
      for (const auto& [key, value] : attributes) writer.set_study_attribute(key, value);
      writer.flush();
    }
  } catch (...) {
    std::error_code ec;
    for (const auto& path : created) fs::remove(path, ec);
    throw;
  }
}

void run_submit(const SubmitOptions& o) {
  const sweeps::Sweep sweep = sweeps::load_sweep_file(o.sweep, o.overrides);
  const cluster::ClusterProfile profile = cluster::load_cluster_profile(o.cluster);
  ST_CHECK(profile.ranks() % o.ranks_per_run == 0,
           "--ranks-per-run {}: the {} ranks of a job ({}: nodes {} x ranks_per_node {}) do not split into groups of {}",
           o.ranks_per_run, profile.ranks(), o.cluster, profile.nodes, profile.ranks_per_node, o.ranks_per_run);
  ST_CHECK(o.array <= static_cast<std::int64_t>(sweep.runs.size()),
           "--array {}: the sweep {} has only {} runs; use --array {} or fewer (a task without runs would idle)",
           o.array, o.sweep, sweep.runs.size(), sweep.runs.size());
  const results::StudyInfo info = study_identity(o.sweep, sweep, o.overrides);

  cluster::StudyJob study;
  study.study_name = info.name;
  study.statetune_binary = profile.statetune_binary.empty() ? this_binary() : profile.statetune_binary;
  study.sweep_path = fs::absolute(o.sweep).lexically_normal().string();
  study.working_dir = fs::current_path().string();
  study.overrides = o.overrides;
  study.sweep_options = sweep_options(o, profile);
  study.files = cluster::study_files(o.out);
  if (!o.dry_run && !cluster::find_program(study.statetune_binary)) {
    fail("{}: statetune_binary '{}' is not an executable file", o.cluster, study.statetune_binary);
  }

  const cluster::SlurmLimits limits = o.array > 0 ? array_limits(o, profile) : cluster::SlurmLimits{};
  const cluster::SubmissionPlan plan = cluster::plan_submission(profile, study, o.array, limits);
  for (const auto& note : plan.notes) std::printf("# note: %s\n", note.c_str());

  if (o.dry_run) {
    for (std::size_t i = 0; i < plan.scripts.size(); ++i) {
      const auto& script = plan.scripts[i];
      const bool now = std::find(plan.submit_now.begin(), plan.submit_now.end(), i) != plan.submit_now.end() ||
                       plan.first_chain == i;
      std::printf("# ==== %s: %s; %s ====\n%s", script.path.c_str(), script.what.c_str(),
                  now ? "queued by statetune submit" : "queued later by a chain job", script.text.c_str());
    }
    std::printf("# dry run: %zu script(s) for %zu runs; nothing was written or submitted\n", plan.scripts.size(),
                sweep.runs.size());
    return;
  }

  check_fetched_inputs(sweep);  // a model or benchmark not fetched: refused before any work
  prepare_study_paths(sweep, o.out);
  check_results_files(plan.result_files, info, study.files);
  const std::map<std::string, std::string> fixed_attributes = {
      {cluster::attributes::kScripts, scripts_text(plan)},
      {cluster::attributes::kProfile, "# " + fs::absolute(o.cluster).lexically_normal().string() + "\n" + profile.text},
      {cluster::attributes::kSlurmDir, study.files.slurm_dir},
      {cluster::attributes::kArrayTasks, std::to_string(o.array)},
  };
  const cluster::Submitted submitted = cluster::submit_plan(plan, study.files, [&](const std::vector<std::string>& ids) {
    auto attributes = fixed_attributes;
    std::string joined;
    for (const auto& id : ids) joined += (joined.empty() ? "" : " ") + id;
    attributes[cluster::attributes::kJobIds] = joined;
    attributes[cluster::attributes::kSubmitted] = cluster::utc_now();
    record_jobs(plan.result_files, info, attributes);
  });

  std::printf("submitted study '%s' (%zu runs) to Slurm:\n", info.name.c_str(), sweep.runs.size());
  for (std::size_t i = 0; i < submitted.job_ids.size(); ++i) {
    const auto& script = plan.scripts[i < plan.submit_now.size() ? plan.submit_now[i] : *plan.first_chain];
    std::printf("  job %s: %s (%s)\n", submitted.job_ids[i].c_str(), script.what.c_str(), script.path.c_str());
  }
  if (o.array > 0) {
    std::printf("results: %s ... %s (one file per task)\n", study.files.task_results(0).c_str(),
                study.files.task_results(o.array - 1).c_str());
    std::printf("follow: statetune status %s\nwhen done: statetune merge %s %s*%s\n", o.out.c_str(), o.out.c_str(),
                study.files.task_prefix.c_str(), study.files.task_suffix.c_str());
  } else {
    std::printf("results: %s\nfollow: statetune status %s\n", study.files.results.c_str(), o.out.c_str());
  }
  std::printf("job log: %s\n", study.files.job_log.c_str());
}

}  // namespace

void add_submit_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "submit",
      "Run a study on Slurm: render sbatch scripts from a cluster profile and queue them. One job whose\n"
      "ranks run the whole study, or with --array K, K independent array tasks (task i runs the runs whose\n"
      "index % K == i into RESULTS.task{i}.h5; combine them with `statetune merge`). The job ids and the\n"
      "scripts are recorded in the results file(s); the scripts and the job log are in RESULTS.slurm/.\n"
      "Jobs checkpoint on USR1 before their time limit and requeue themselves (cluster/README.md).");
  auto o = std::make_shared<SubmitOptions>();
  sub->add_option("sweep", o->sweep, "The sweep YAML")->required()->check(CLI::ExistingFile);
  sub->add_option("overrides", o->overrides, "key=value overrides of the sweep's base config, passed to `sweep`");
  sub->add_option("--cluster", o->cluster, "The cluster profile YAML (cluster/examples/)")->required()->check(CLI::ExistingFile);
  sub->add_option("--out", o->out, "The study's HDF5 results file")->required();
  sub->add_option("--array", o->array, "Split the runs into K independent array tasks")->check(positive_count());
  sub->add_flag("--dry-run", o->dry_run, "Print the scripts; write and submit nothing");
  sub->add_option("--ranks-per-run", o->ranks_per_run, "Passed to `sweep`: ranks per run (data parallel)")
      ->check(positive_count())
      ->capture_default_str();
  sub->add_option("--comm", o->comm, "Passed to `sweep`: auto, mpi, local or nccl (default: sweep's)");
  sub->add_option("--threads", o->threads, "Passed to `sweep`: threads per rank (default: the profile's cpus_per_rank, else sweep's)")
      ->check(positive_count());
  set_command_body(*sub, [o] { run_submit(*o); });
}

}  // namespace statetune::orchestrator
