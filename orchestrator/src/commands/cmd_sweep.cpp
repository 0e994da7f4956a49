// statetune sweep SWEEP.yaml --out RESULTS.h5: a whole study. Under mpirun/srun the world is
// split into rank groups of --ranks-per-run; global rank 0 deals the sweep's runs to the
// groups and alone writes the results file; each group runs its run data parallel.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "statetune/common/error.h"
#include "statetune/common/log.h"
#include "statetune/common/output_path.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/mpi_communicator.h"
#include "statetune/orchestrator/mpi_world.h"
#include "statetune/orchestrator/nccl_communicator.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/run_executor.h"
#include "statetune/orchestrator/study_identity.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "statetune/sweeps/sweep.h"
#include "comm/mpi_check.h"
#include "cli/stop_signals.h"
#include "cli/study_paths.h"
#include "run/fetched_inputs.h"
#include "study/study_times.h"
#include "study/sweep_coordinator.h"
#include "run/baseline_memo.h"
#include "study/sweep_messages.h"
#include "study/sweep_plan.h"

namespace statetune::orchestrator {
namespace {

struct SweepOptions {
  std::string sweep, out, shard, comm = "auto";
  std::vector<std::string> overrides;
  bool resume = false, retry_failed = false, restart = false, fail_fast = false, state_in_study = false;
  int ranks_per_run = 1;
  int threads = 1;
};

// Exit codes: 0 every run of this task done; 1 a run failed/diverged (or an error);
// 3 stopped by a signal: checkpoints written, unfinished runs interrupted ("requeue me").
constexpr int kExitFailed = 1, kExitStopped = 3;

// Runs of the sweep without an explicit checkpoint file get one beside the results file, so a
// resumed study (also a requeued Slurm job) finds them from the study alone.
void set_default_checkpoints(sweeps::Sweep& sweep, const std::string& out) {
  const std::filesystem::path dir = std::filesystem::absolute(out).string() + ".checkpoints";
  for (auto& run : sweep.runs) {
    if (run.spec.checkpoint.empty()) run.spec.checkpoint = (dir / (run.hash + ".pth")).string();
  }
}

std::map<std::string, results::RunStatus> existing_statuses(const std::string& out) {
  if (!std::filesystem::exists(out)) return {};
  return results::StudyReader::open(out, results::ReadDetail::kStatus).statuses();
}

// --comm nccl all-reduces GPU tensors: a run on the CPU is refused.
void expect_gpu_for_nccl(const Placement& where, const std::string& run) {
  ST_CHECK(where.device.is_cuda(),
           "--comm nccl: run {} computes on {}; NCCL all-reduces GPU tensors (use --comm auto or mpi, or device: cuda)",
           run, where.device.str());
}

// A rank group's communicators. --comm auto: NCCL for a run on GPUs with more than one rank
// per group (a group of one needs no collective), MPI otherwise; --comm nccl: NCCL always (a
// run on the CPU is refused); mpi and local as named. The NCCL communicator is made on the
// first run that needs it (every rank of the group is in that run) and kept.
class GroupCommunicators {
 public:
  GroupCommunicators(const SweepOptions& o, MPI_Comm group) : comm_(o.comm), group_(group) {
    if (o.comm == "local")
      host_ = std::make_unique<workers::LocalCommunicator>();
    else
      host_ = std::make_unique<MpiCommunicator>(group);
  }

  workers::Communicator& for_run(const Placement& where, const std::string& run) {
    if (comm_ == "nccl") {
      expect_gpu_for_nccl(where, run);
    } else if (!(comm_ == "auto" && where.device.is_cuda() && host_->size() > 1)) {
      return *host_;
    }
    if (!nccl_) nccl_ = make_nccl_communicator(group_, where.device.index());
    return *nccl_;
  }
  const workers::Communicator& host() const { return *host_; }

 private:
  std::string comm_;
  MPI_Comm group_;
  std::unique_ptr<workers::Communicator> host_, nccl_;
};

// One run on this rank's group; every failure becomes a report (the study goes on).
RunReport run_one(const sweeps::SweepRun& run, GroupCommunicators& comms, const SweepOptions& o, int local_rank,
                  const std::function<bool()>& stop, bool verbose) {
  RunControl control;
  // Only once the run has loaded: a run that fails at load leaves no empty folders behind.
  control.prepare_outputs = [&run] {
    prepare_output_path(run.spec.checkpoint, "run " + run.hash + ": checkpoint");
    if (!run.spec.output.empty()) prepare_output_path(run.spec.output, "run " + run.hash + ": output");
  };
  control.resume = !o.restart;
  control.state_in_report = o.state_in_study;
  control.stop_requested = stop;
  if (verbose) control.note = [&run](const std::string& text) { log::info("run {}: {}", run.hash, text); };
  try {
    control.placement = resolve_placement(run.spec.device, run.spec.weights_dtype, local_rank,
                                          "run " + run.hash + ": device");
    // Every rank says where it computes, the first time and whenever that changes.
    static std::string said;
    if (const std::string where = control.placement.describe(); where != said) {
      log::write("info", "computing on " + where);
      said = where;
    }
    return execute_run(run.spec, comms.for_run(control.placement, run.hash), control);
  } catch (const std::exception& e) {
    RunReport failed;
    failed.status = results::RunStatus::kFailed;
    failed.message = e.what();
    return failed;
  }
}

void run_sweep(const SweepOptions& o) {
  // First: a USR1/TERM from Slurm during start-up (MPI_Init, model loading) must stop the
  // study, not kill the rank.
  StopSignals signals;
  MpiWorld world;
  log::set_rank(world.rank(), world.host());
  ST_CHECK(o.comm == "auto" || o.comm == "mpi" || o.comm == "local" || o.comm == "nccl",
           "--comm {}: expected auto, mpi, local or nccl", o.comm);
  ST_CHECK(o.comm != "local" || o.ranks_per_run == 1, "--comm local needs --ranks-per-run 1 (one process per run)");
  apply_threads(o.threads);

  // Every rank expands the same sweep (deterministic), so runs travel as indices.
  sweeps::Sweep sweep = sweeps::load_sweep_file(o.sweep, o.overrides);
  set_default_checkpoints(sweep, o.out);
  SweepFlags flags;
  flags.retry_failed = o.retry_failed;
  if (!o.shard.empty()) std::tie(flags.shard, flags.shards) = parse_shard(o.shard);

  if (o.comm == "nccl") {
    // Refused before any work, identically on every rank: NCCL with a run on the CPU.
    for (const auto& run : sweep.runs) {
      expect_gpu_for_nccl(resolve_placement(run.spec.device, run.spec.weights_dtype, world.local_rank(),
                                            o.sweep + ": run " + run.hash + ": device"),
                          run.hash);
    }
  }
  MPI_Comm group_comm = world.split_groups(o.ranks_per_run);
  GroupCommunicators comms(o, group_comm);
  const int groups = world.size() / o.ranks_per_run;
  const bool leader = comms.host().rank() == 0;

  // Rank 0 opens the results file; the others learn whether that worked before waiting on it.
  std::unique_ptr<results::StudyWriter> writer;
  std::unique_ptr<SweepCoordinator> coordinator;
  std::string setup_error;
  nlohmann::json known_baselines = nlohmann::json::object();
  StudyPlan plan;
  if (world.rank() == 0) {
    try {
      ST_CHECK(o.resume || !std::filesystem::exists(o.out),
               "{}: the results file exists; --resume continues that study (or choose another --out)", o.out);
      check_fetched_inputs(sweep);  // a model or benchmark not fetched: refused before any work
      prepare_study_paths(sweep, o.out);
      const auto statuses = existing_statuses(o.out);
      plan = plan_study(sweep, statuses, flags);
      const results::StudyInfo info = study_identity(o.sweep, sweep, o.overrides);
      writer = std::make_unique<results::StudyWriter>(results::StudyWriter::open(o.out, info));
      const std::vector<std::string> was_running = writer->mark_interrupted_running();
      for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
        if (static_cast<int>(i % static_cast<std::size_t>(flags.shards)) == flags.shard)
          writer->declare_run(describe_run(sweep.runs[i]));
      }
      writer->flush();
      const auto baselines = BaselineMemo::in_study(o.out);
      known_baselines = BaselineMemo::to_json(baselines);
      std::printf("study %s: %zu runs in the sweep (%zu combinations, %zu excluded, %zu collapsed)%s\n",
                  o.out.c_str(), sweep.runs.size(), sweep.combinations, sweep.excluded, sweep.duplicates,
                  flags.shards > 1 ? fmt::format("; shard {}/{}", flags.shard, flags.shards).c_str() : "");
      std::printf("to run: %zu; already done: %zu; failed, not retried: %zu%s; %d group(s) of %d rank(s)\n",
                  plan.to_run.size(), plan.already_done, plan.skipped_failed,
                  was_running.empty() ? "" : fmt::format("; {} found running (crashed), resumed", was_running.size()).c_str(),
                  groups, o.ranks_per_run);
      std::fflush(stdout);
      CoordinatorOptions co;
      co.groups = groups;
      co.ranks_per_run = o.ranks_per_run;
      co.fail_fast = o.fail_fast;
      coordinator = std::make_unique<SweepCoordinator>(sweep, *writer, plan, co);
    } catch (const std::exception& e) {
      setup_error = e.what();
    }
  }
  int setup_failed = setup_error.empty() ? 0 : 1;
  MPI_CHECK(MPI_Bcast(&setup_failed, 1, MPI_INT, 0, MPI_COMM_WORLD));
  if (setup_failed) {
    MPI_Comm_free(&group_comm);
    if (world.rank() == 0) throw Error(setup_error);
    fail("rank 0 could not start the study (its error is above)");
  }
  // Baselines of the study's done runs: no rank computes them again.
  BaselineMemo::process().seed(broadcast_json(known_baselines, world.rank()));

  // The group's run index (-1: no more work) goes from its leader to the members.
  auto broadcast_index = [&](int64_t index) {
    MPI_CHECK(MPI_Bcast(&index, 1, MPI_INT64_T, 0, group_comm));
    return index;
  };
  if (world.rank() == 0) {
    while (true) {
      if (StopSignals::received()) coordinator->stop(fmt::format("signal {}", StopSignals::received()));
      const std::optional<std::size_t> next = coordinator->next_for_own_group(world.host());
      const int64_t index = broadcast_index(next ? static_cast<int64_t>(*next) : -1);
      if (index < 0) break;
      const std::size_t run = static_cast<std::size_t>(index);
      const RunReport report = run_one(sweep.runs[run], comms, o, world.local_rank(), [&] {
        coordinator->poll(false);
        if (StopSignals::received()) coordinator->stop(fmt::format("signal {}", StopSignals::received()));
        return coordinator->stopping();
      }, true);
      coordinator->record(run, report, world.host());
      if (StopSignals::received()) coordinator->stop(fmt::format("signal {}", StopSignals::received()));
    }
    coordinator->wait_for_groups();
    writer->flush();
    coordinator->progress().close();
  } else if (leader) {
    bool stop_message = false;
    while (true) {
      send_json({{"host", world.host()}, {"signal", StopSignals::received()}}, 0, kRequest);
      const int64_t index = broadcast_index(receive_json(0, kAssign).at("index").get<int64_t>());
      if (index < 0) break;
      const RunReport report = run_one(sweep.runs[static_cast<std::size_t>(index)], comms, o, world.local_rank(), [&] {
        MPI_Status status;
        int flag = 0;
        MPI_CHECK(MPI_Iprobe(0, kStop, MPI_COMM_WORLD, &flag, &status));
        if (flag) {
          receive_json(0, kStop);
          stop_message = true;
        }
        return stop_message || StopSignals::received() != 0;
      }, false);
      send_json({{"host", world.host()}, {"signal", StopSignals::received()}, {"report", to_json(report)}}, 0, kResult);
      send_state(report, 0);
    }
    // A stop sent while this group was finishing its last run: take it off the wire.
    int flag = 1;
    while (flag) {
      MPI_Status status;
      MPI_CHECK(MPI_Iprobe(0, kStop, MPI_COMM_WORLD, &flag, &status));
      if (flag) receive_json(0, kStop);
    }
  } else {
    while (true) {
      const int64_t index = broadcast_index(-1);
      if (index < 0) break;
      run_one(sweep.runs[static_cast<std::size_t>(index)], comms, o, world.local_rank(),
              [] { return StopSignals::received() != 0; }, false);
    }
  }
  MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  MPI_Comm_free(&group_comm);

  // Every rank exits with the study's status.
  int status[3] = {0, 0, 0};  // failed, interrupted, not started
  if (world.rank() == 0) {
    status[0] = static_cast<int>(coordinator->failed() + plan.skipped_failed);
    status[1] = static_cast<int>(coordinator->interrupted());
    status[2] = static_cast<int>(coordinator->not_started());
    std::printf("study %s: %zu done, %zu failed, %zu interrupted, %zu not started%s\n", o.out.c_str(),
                coordinator->done(), coordinator->failed(), coordinator->interrupted(), coordinator->not_started(),
                coordinator->stopping() ? " (stopped; continue with --resume)" : "");
    std::printf("rank 0 overhead: %.1f ms per run dealt (results file commits and messages)\n",
                coordinator->overhead_ms_per_run());
    std::fflush(stdout);
  }
  MPI_CHECK(MPI_Bcast(status, 3, MPI_INT, 0, MPI_COMM_WORLD));
  print_study_time_split(groups, leader, coordinator.get());  // where the time went (rank 0 prints)
  if (status[1] > 0 || status[2] > 0) {
    set_exit_status(kExitStopped);
  } else if (status[0] > 0) {
    set_exit_status(kExitFailed);
  }
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "sweep",
      "Run a study: every run of a sweep YAML, results in one HDF5 file. Under `mpirun -np P` (or srun) the\n"
      "ranks form groups of --ranks-per-run; each group tunes one run at a time, data parallel; rank 0\n"
      "deals the runs and alone writes RESULTS. Exit status: 0 all runs done, 1 a run failed or an error,\n"
      "3 stopped by SIGTERM/SIGUSR1/SIGINT (checkpoints written, runs marked interrupted: --resume continues).");
  auto o = std::make_shared<SweepOptions>();
  sub->add_option("sweep", o->sweep, "The sweep YAML (base: run config, grid:, zip:, exclude:)")->required();
  sub->add_option("overrides", o->overrides, "key=value overrides of the base config (not of grid axes)");
  sub->add_option("--out", o->out,
                  "The study's HDF5 results file (its runs' files and journal go in the folder <out>.runs)")
      ->required();
  sub->add_flag("--resume", o->resume,
                "Continue an existing results file: skip done runs, continue interrupted ones from their checkpoints");
  sub->add_flag("--retry-failed", o->retry_failed, "With --resume: run failed and diverged runs again");
  sub->add_flag("--restart", o->restart, "Ignore partial checkpoints: unfinished runs start from step 0");
  sub->add_flag("--fail-fast", o->fail_fast, "Stop the study at the first failed or diverged run");
  sub->add_flag("--state-in-study", o->state_in_study,
                "Also store in the study the tuned state of runs that write it to their `output` file (by default "
                "a state is stored once: in that file, or in the study for runs without `output`)");
  sub->add_option("--ranks-per-run", o->ranks_per_run, "Ranks per group (data parallel within a run)")
      ->check(positive_count())
      ->capture_default_str();
  sub->add_option("--comm", o->comm,
                  "State-gradient all-reduce: auto (NCCL for a run on GPUs with more than one rank per run, else MPI),\n"
                  "mpi (GPU tensors go through host copies), nccl (GPU runs only; also with one rank), local (one\n"
                  "process per run). MPI always carries the control messages and the results.")
      ->check(CLI::IsMember({"auto", "mpi", "nccl", "local"}))
      ->capture_default_str();
  add_placement_overrides(*sub, o->overrides);
  sub->add_option("--shard", o->shard, "I/K: run only the runs whose index % K == I (a Slurm array task)");
  o->threads = 1;
  sub->add_option("--threads", o->threads, "Torch threads per rank (default 1: one core per rank)")
      ->check(positive_count())
      ->capture_default_str();
  set_command_body(*sub, [o] { run_sweep(*o); });
}

}  // namespace statetune::orchestrator
