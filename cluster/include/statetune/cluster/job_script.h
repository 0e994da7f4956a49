#pragma once
// The sbatch scripts of a study. Every path in them is absolute, so a job that Slurm
// requeues, or that resubmits itself, resumes the same study from its newest checkpoints.
//
// Each study job runs
//   LAUNCHER STATETUNE sweep SWEEP --out RESULTS --resume [--shard I/K] [OPTIONS] [key=value ...]
// in the background and waits for it; `sweep` exits 0 (all runs done), 1 (a run failed or an
// error) or 3 (stopped by a signal with checkpoints written: "requeue me").
//
// Signals. The job asks for --signal=B:USR1@<signal_warning_seconds>: Slurm sends USR1 to the
// batch shell only, which passes it on to the launcher (srun and OpenMPI's mpirun both forward
// USR1 to every rank). Without "B:" Slurm would signal the job steps' tasks instead: with srun
// those are the ranks, but with mpirun they are its orted daemons, and the batch shell would
// not know the stop was asked for. TERM (scancel, preemption, the time limit itself) is passed
// on the same way. On exit 3 after USR1 the job requeues itself (`scontrol requeue`, kept as
// one job id, counted by SLURM_RESTART_COUNT); when the cluster refuses that, it resubmits
// its own script with sbatch (counted by STATETUNE_RESUBMITS), in all at most max_requeues
// times. After TERM it does not: a cancelled job must stay cancelled, and a cluster that
// preempts with PreemptMode=REQUEUE requeues the job itself. `scancel --batch --signal=USR1
// JOB` therefore means "checkpoint and come back later", also before the ranks listen for it:
// after USR1 during the profile's setup the ranks are not started, and ranks that a passed-on
// signal ends while they start (the launcher exits 128 + the signal) count as stopped (exit
// 3), not failed.
#include <cstdint>
#include <string>
#include <vector>

#include "statetune/cluster/array_plan.h"
#include "statetune/cluster/cluster_profile.h"
#include "statetune/cluster/study_files.h"

namespace statetune::cluster {

// What every job of a study needs besides the profile.
struct StudyJob {
  std::string study_name;
  std::string statetune_binary;        // absolute
  std::string sweep_path;              // absolute
  std::string working_dir;             // absolute; the jobs start here (--chdir), so relative
                                       // paths in overrides mean what they meant at submission
  std::vector<std::string> overrides;  // key=value, passed to `sweep` as given
  // More options of `sweep` (--ranks-per-run 4, --comm nccl, --threads 16), as given.
  std::vector<std::string> sweep_options;
  StudyFiles files;
};

// One job with nodes x ranks_per_node ranks runs every run of the study into files.results.
std::string render_study_job(const ClusterProfile& profile, const StudyJob& study, const std::string& script_path);

// One array job: its task i is the study's task chunk.first_task + i of total_tasks; it runs
// the runs whose expansion index % total_tasks equals that task into files.task_results(task).
std::string render_array_chunk(const ClusterProfile& profile, const StudyJob& study, const ArrayChunk& chunk,
                               std::int64_t total_tasks, const std::string& script_path);

// A chain job (array waves, array_plan.h): submits wave_scripts, then next_chain (if not
// empty) to start once they have all left the queue.
std::string render_chain_job(const ClusterProfile& profile, const StudyJob& study, std::size_t wave,
                             const std::vector<std::string>& wave_scripts, const std::string& next_chain);

}  // namespace statetune::cluster
