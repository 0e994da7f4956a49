// Rendering the sbatch scripts of a study (job_script.h).
#include "statetune/cluster/job_script.h"

#include <fmt/format.h>

#include <filesystem>

#include "script_text.h"

namespace statetune::cluster {
namespace {

using detail::shell_quote;

// The resource and requeue lines of a study job (not of a chain job).
std::string resource_lines(const ClusterProfile& p) {
  std::string lines;
  if (!p.time_limit.empty()) lines += fmt::format("#SBATCH --time={}\n", p.time_limit);
  lines += fmt::format("#SBATCH --nodes={}\n", p.nodes);
  lines += fmt::format("#SBATCH --ntasks-per-node={}\n", p.ranks_per_node);
  if (!p.gpus_per_node.empty()) lines += fmt::format("#SBATCH --gpus-per-node={}\n", p.gpus_per_node);
  if (p.cpus_per_rank) lines += fmt::format("#SBATCH --cpus-per-task={}\n", *p.cpus_per_rank);
  if (!p.memory.empty()) lines += fmt::format("#SBATCH --mem={}\n", p.memory);
  if (!p.constraint.empty()) lines += fmt::format("#SBATCH --constraint={}\n", p.constraint);
  if (p.signal_warning_seconds > 0) lines += fmt::format("#SBATCH --signal=B:USR1@{}\n", p.signal_warning_seconds);
  lines += p.max_requeues > 0 ? "#SBATCH --requeue\n" : "#SBATCH --no-requeue\n";
  return lines;
}

std::string extra_lines(const ClusterProfile& p) {
  std::string lines;
  for (const auto& option : p.extra_sbatch) lines += "#SBATCH " + option + "\n";
  return lines;
}

std::string environment_block(const ClusterProfile& p) {
  const std::string profile = std::filesystem::absolute(p.path).lexically_normal().string();
  std::string block = fmt::format("\n# ---- environment (cluster profile {})\n", profile);
  for (const auto& m : p.modules) block += "module load " + m + "\n";
  for (const auto& line : p.setup) block += line + "\n";
  return block;
}

std::string words(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : " ") + shell_quote(item);
  return text;
}

// Variables of the study, then the part every study job shares: start the ranks, pass
// signals on, and requeue or resubmit on exit status 3. `specific` sets results, shard, job
// and resubmit_args.
std::string study_body(const ClusterProfile& p, const StudyJob& s, const std::string& script_path,
                       const std::string& specific) {
  // USR1 while the profile's setup runs (module loads, conda) would end the batch shell: it is
  // noted first thing, and then the ranks are not started (below).
  // set -u only after the profile's setup, which may source scripts (conda) that use unset
  // variables. Arrays expand as ${a[@]+"${a[@]}"}: bash before 4.4 calls an empty one unbound.
  std::string body = "\n# USR1 during the setup: noted, and the ranks are not started (see below).\n"
                     "stop_signal=\"\"\n"
                     "trap 'stop_signal=USR1' USR1\n" +
                     environment_block(p);
  body += fmt::format(R"SH(
# ---- the study
set -u
statetune={}
sweep={}
options=({})
overrides=({})
script={}
max_requeues={}
{}{}
attempt=$(( ${{SLURM_RESTART_COUNT:-0}} + ${{STATETUNE_RESUBMITS:-0}} ))
)SH",
                      shell_quote(s.statetune_binary), shell_quote(s.sweep_path), words(s.sweep_options), words(s.overrides),
                      shell_quote(script_path), p.max_requeues, specific, detail::log_functions(s.files.job_log));
  body += R"SH(
# USR1 (the time-limit warning, or `scancel --batch --signal=USR1`): the ranks checkpoint and
# exit 3, then this job requeues itself. TERM (scancel, preemption, the time limit) is passed
# on too, but then the job is not requeued by this script.
child=""
terminated=0
forward() {
  log signal "SIG$1: passing it on to the ranks"
  stop_signal="$1"
  if [ -n "$child" ]; then kill -s "$1" "$child" 2>/dev/null; fi
}
trap 'forward USR1' USR1
trap 'terminated=1; forward TERM' TERM

# srun of Slurm 22.05 to 23.02 does not take --cpus-per-task from the batch job: hand it on.
if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then export SRUN_CPUS_PER_TASK="$SLURM_CPUS_PER_TASK"; fi
log start "attempt $attempt on $(hostname): ${SLURM_JOB_NUM_NODES:-1} nodes, ${SLURM_NTASKS:-1} ranks"
if [ -n "$stop_signal" ]; then
  log signal "SIG$stop_signal came during the setup: the ranks are not started; stopped like exit 3"
  status=3
else
  )SH";
  body += p.launcher + R"SH( "$statetune" sweep "$sweep" --out "$results" --resume ${shard[@]+"${shard[@]}"} ${options[@]+"${options[@]}"} ${overrides[@]+"${overrides[@]}"} &
  child=$!
  while kill -0 "$child" 2>/dev/null; do wait "$child"; done  # wait returns early when a signal arrives
  wait "$child"
  status=$?
fi
# Ranks still starting (MPI_Init, before statetune catches the signal) end on it: the launcher
# (srun and mpirun alike) exits 128 + the signal. No run was in progress: a stop like exit 3.
if [ -n "$stop_signal" ] && [ "$status" -eq $(( 128 + $(kill -l "$stop_signal") )) ]; then
  log signal "the ranks ended on SIG$stop_signal before they caught it (still starting): stopped like exit 3"
  status=3
fi

case "$status" in
  0) log done "every run finished"; exit 0 ;;
  3) ;;
  *) log failed "statetune sweep exited with status $status (a run failed, or an error: see this job's output); not requeued"
     exit "$status" ;;
esac
if [ "$terminated" = 1 ]; then
  log stopped "interrupted by SIGTERM (scancel, preemption or the time limit); not requeued by this script"
  exit 3
fi
if [ "$attempt" -ge "$max_requeues" ]; then
  log stopped "interrupted; not requeued: max_requeues $max_requeues reached ($attempt requeues so far)"
  exit 3
fi
log requeue "interrupted with checkpoints; requeueing (requeue $((attempt + 1)) of $max_requeues)"
if error=$(scontrol requeue "$SLURM_JOB_ID" 2>&1); then
  exit 3  # Slurm ends this attempt and queues the job again under the same id
fi
log requeue "scontrol requeue failed ($error); resubmitting $script instead"
if ! next=$(STATETUNE_RESUBMITS=$(( ${STATETUNE_RESUBMITS:-0} + 1 )) sbatch --parsable --export=ALL ${resubmit_args[@]+"${resubmit_args[@]}"} "$script" 2>&1); then
  log failed "resubmitting failed: $next"
  exit 3
fi
next="${next%%;*}"
log resubmit "continues as job $next"
log_as "$next" submitted "$script by job $job (resubmission)"
exit 3
)SH";
  return body;
}

std::string header_comment(const StudyJob& s, const std::string& what) {
  return fmt::format(
      "#!/bin/bash\n"
      "# statetune study '{}': {}\n"
      "# Written by `statetune submit` (submit again to change it); job log: {}\n",
      s.study_name, what, s.files.job_log);
}

}  // namespace

std::string render_study_job(const ClusterProfile& p, const StudyJob& s, const std::string& script_path) {
  const std::string what = fmt::format("one job, {} node{} x {} rank{}, runs every run of the sweep", p.nodes,
                                       p.nodes == 1 ? "" : "s", p.ranks_per_node, p.ranks_per_node == 1 ? "" : "s");
  const std::string specific = fmt::format(
      "results={}\n"
      "shard=()\n"
      "job=\"$SLURM_JOB_ID\"\n"
      "resubmit_args=()\n",
      shell_quote(s.files.results));
  return header_comment(s, what) + detail::common_sbatch_lines(p, s, detail::study_job_name(p, s), "%x-%j.out") +
         resource_lines(p) + extra_lines(p) + study_body(p, s, script_path, specific);
}

std::string render_array_chunk(const ClusterProfile& p, const StudyJob& s, const ArrayChunk& chunk,
                               std::int64_t total_tasks, const std::string& script_path) {
  const std::int64_t last = chunk.first_task + chunk.count - 1;
  const std::string what =
      fmt::format("array tasks {}-{} of {} (task i runs the runs whose index % {} == i), each {} node{} x {} rank{}",
                  chunk.first_task, last, total_tasks, total_tasks, p.nodes, p.nodes == 1 ? "" : "s", p.ranks_per_node,
                  p.ranks_per_node == 1 ? "" : "s");
  const std::string suffix = s.files.task_suffix.empty() ? "" : shell_quote(s.files.task_suffix);
  const std::string specific = fmt::format(
      "task=$(( {} + SLURM_ARRAY_TASK_ID ))\n"
      "results={}\"$task\"{}\n"
      "shard=(--shard \"$task/{}\")\n"
      "job=\"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\"\n"
      "resubmit_args=(--array=\"$SLURM_ARRAY_TASK_ID\")\n",
      chunk.first_task, shell_quote(s.files.task_prefix), suffix, total_tasks);
  return header_comment(s, what) + detail::common_sbatch_lines(p, s, detail::study_job_name(p, s), "%x-%A_%a.out") +
         fmt::format("#SBATCH --array=0-{}\n", chunk.count - 1) + resource_lines(p) + extra_lines(p) +
         study_body(p, s, script_path, specific);
}

std::string render_chain_job(const ClusterProfile& p, const StudyJob& s, std::size_t wave,
                             const std::vector<std::string>& wave_scripts, const std::string& next_chain) {
  const std::string what = fmt::format(
      "queues wave {} of its array jobs once the jobs before have left the queue (max_submit_jobs)", wave);
  std::string text = header_comment(s, what) +
                     detail::common_sbatch_lines(p, s, fmt::format("{}-chain{}", detail::study_job_name(p, s), wave),
                                                 "%x-%j.out") +
                     "#SBATCH --time=00:10:00\n#SBATCH --ntasks=1\nset -u\n\njob=\"$SLURM_JOB_ID\"\n" +
                     detail::log_functions(s.files.job_log);
  text += fmt::format("\nwave=({})\nnext_chain={}\n", words(wave_scripts), shell_quote(next_chain));
  text += R"SH(ids=""
for script in "${wave[@]}"; do
  if ! out=$(sbatch --parsable "$script" 2>&1); then
    log failed "queueing $script failed: $out"
    exit 1
  fi
  ids="$ids:${out%%;*}"
  log_as "${out%%;*}" submitted "$script by chain job $job"
done
if [ -n "$next_chain" ]; then
  if ! out=$(sbatch --parsable --dependency="afterany$ids" "$next_chain" 2>&1); then
    log failed "queueing $next_chain failed: $out"
    exit 1
  fi
  log_as "${out%%;*}" submitted "$next_chain by chain job $job (starts when this wave has left the queue)"
fi
)SH";
  return text;
}

}  // namespace statetune::cluster
