// What a rendered study job does when it runs, outside Slurm: the launcher is `env`, and
// statetune, scontrol and sbatch are stand-ins on PATH that log their arguments. Exit status
// 0 ends the job, 1 fails it, 3 requeues it (or resubmits it when requeue is refused) up to
// max_requeues; USR1 to the batch shell reaches the ranks and requeues, TERM does not.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "cluster_files.h"
#include "statetune/cluster/cluster_profile.h"
#include "statetune/cluster/job_script.h"
#include "statetune/cluster/study_files.h"

using namespace statetune::cluster;
using statetune::testing::CommandResult;
using statetune::testing::contains;
using statetune::testing::read_file;
using statetune::testing::run_command;
using statetune::testing::temp_dir;
using statetune::testing::write_file;

namespace {

// Logs each argument as [arg]; exits FAKE_EXIT, or with FAKE_WAIT waits for USR1/TERM (then 3).
const char* kFakeStatetune = R"SH(#!/bin/bash
for a in "$@"; do printf '[%s]' "$a"; done >> "$FAKE_DIR/sweep.log"
echo >> "$FAKE_DIR/sweep.log"
if [ -n "${FAKE_WAIT:-}" ]; then
  trap 'echo "got USR1" >> "$FAKE_DIR/sweep.log"; kill $sleeper; exit 3' USR1
  trap 'echo "got TERM" >> "$FAKE_DIR/sweep.log"; kill $sleeper; exit 3' TERM
  sleep 30 >/dev/null 2>&1 &
  sleeper=$!
  touch "$FAKE_DIR/started"
  wait
  exit 9
fi
exit "${FAKE_EXIT:-0}"
)SH";

const char* kFakeScontrol = R"SH(#!/bin/bash
echo "$*" >> "$FAKE_DIR/scontrol.log"
if [ "$1" = requeue ] && [ -n "${FAKE_REQUEUE_FAILS:-}" ]; then
  echo "scontrol: error: Requested operation is presently disabled" >&2
  exit 1
fi
)SH";

const char* kFakeSbatch = R"SH(#!/bin/bash
echo "$* RESUBMITS=${STATETUNE_RESUBMITS:-}" >> "$FAKE_DIR/sbatch.log"
echo "777;cluster"
)SH";

class JobRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("job_runtime");
    for (const auto& [name, text] : {std::pair{"statetune", kFakeStatetune}, {"scontrol", kFakeScontrol}, {"sbatch", kFakeSbatch}}) {
      const std::string path = write_file(dir_ + "/bin", name, text);
      std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    }
    profile_ = load_cluster_profile(write_file(dir_, "local.yaml", "launcher: env\nmax_requeues: 2\n"));
    study_.study_name = "smoke";
    study_.statetune_binary = dir_ + "/bin/statetune";
    study_.sweep_path = dir_ + "/smoke.yaml";
    study_.working_dir = dir_;
    study_.overrides = {"model=m.pth", "data.eval=my eval.jsonl"};
    study_.sweep_options = {"--threads", "16"};
    study_.files = study_files(dir_ + "/smoke.h5");
    std::filesystem::create_directories(study_.files.slurm_dir);
  }

  // Runs the script as Slurm would start job 42, with `env` extra variables.
  CommandResult run(const std::string& script_text, const std::string& env) {
    const std::string script = write_file(dir_, "job.sbatch", script_text);
    return run_command("cd " + dir_ + " && env PATH=" + dir_ + "/bin:$PATH FAKE_DIR=" + dir_ +
                       " SLURM_JOB_ID=42 " + env + " bash " + script);
  }

  // Starts the job, waits until the stand-in statetune runs, sends `signal` to the batch shell.
  CommandResult run_and_signal(const std::string& signal) {
    const std::string script = write_file(dir_, "job.sbatch", render_study_job(profile_, study_, dir_ + "/job.sbatch"));
    return run_command("cd " + dir_ + " && (env PATH=" + dir_ + "/bin:$PATH FAKE_DIR=" + dir_ +
                       " SLURM_JOB_ID=42 FAKE_WAIT=1 bash " + script + " & pid=$!; " +
                       "for i in $(seq 1 200); do [ -f started ] && break; sleep 0.05; done; kill -" + signal +
                       " $pid; wait $pid; echo \"exit=$?\")");
  }

  std::string job_script() { return render_study_job(profile_, study_, dir_ + "/job.sbatch"); }
  std::string file(const std::string& name) { return read_file(dir_ + "/" + name); }
  std::string job_log() { return read_file(study_.files.job_log); }

  std::string dir_;
  ClusterProfile profile_;
  StudyJob study_;
};

}  // namespace

TEST_F(JobRuntime, AllRunsDoneEndsTheJob) {
  const auto r = run(job_script(), "FAKE_EXIT=0");
  EXPECT_EQ(r.code, 0) << r.output;
  // The study's absolute paths, --resume, the options, and the overrides as separate words.
  EXPECT_EQ(file("sweep.log"), "[sweep][" + dir_ + "/smoke.yaml][--out][" + dir_ +
                                   "/smoke.h5][--resume][--threads][16][model=m.pth][data.eval=my eval.jsonl]\n");
  EXPECT_TRUE(contains(job_log(), " 42 start attempt 0 on ")) << job_log();
  EXPECT_TRUE(contains(job_log(), " 42 done every run finished")) << job_log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/scontrol.log"));
}

TEST_F(JobRuntime, FailedRunFailsTheJobWithoutRequeue) {
  const auto r = run(job_script(), "FAKE_EXIT=1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(job_log(), " 42 failed statetune sweep exited with status 1")) << job_log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/scontrol.log"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/sbatch.log"));
}

TEST_F(JobRuntime, StoppedStudyRequeuesItself) {
  const auto r = run(job_script(), "FAKE_EXIT=3");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_EQ(file("scontrol.log"), "requeue 42\n");
  EXPECT_TRUE(contains(job_log(), " 42 requeue interrupted with checkpoints; requeueing (requeue 1 of 2)")) << job_log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/sbatch.log"));
}

TEST_F(JobRuntime, RefusedRequeueResubmitsTheScriptWithACounter) {
  const auto r = run(job_script(), "FAKE_EXIT=3 FAKE_REQUEUE_FAILS=1 SLURM_RESTART_COUNT=0 STATETUNE_RESUBMITS=0");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_EQ(file("sbatch.log"), "--parsable --export=ALL " + dir_ + "/job.sbatch RESUBMITS=1\n");
  EXPECT_TRUE(contains(job_log(), "scontrol requeue failed (scontrol: error: Requested operation is presently disabled)"))
      << job_log();
  EXPECT_TRUE(contains(job_log(), " 42 resubmit continues as job 777\n")) << job_log();
  // statetune status finds the new job through this line.
  EXPECT_TRUE(contains(job_log(), " 777 submitted " + dir_ + "/job.sbatch by job 42 (resubmission)")) << job_log();
}

TEST_F(JobRuntime, StopsRequeueingAfterMaxRequeues) {
  // One requeue by Slurm and one resubmission: max_requeues 2 reached.
  const auto r = run(job_script(), "FAKE_EXIT=3 SLURM_RESTART_COUNT=1 STATETUNE_RESUBMITS=1");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_TRUE(contains(job_log(), " 42 start attempt 2 on ")) << job_log();
  EXPECT_TRUE(contains(job_log(), "interrupted; not requeued: max_requeues 2 reached (2 requeues so far)")) << job_log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/scontrol.log"));
}

TEST_F(JobRuntime, Usr1ToTheBatchShellReachesTheRanksAndRequeues) {
  const auto r = run_and_signal("USR1");
  EXPECT_TRUE(contains(r.output, "exit=3")) << r.output;
  EXPECT_TRUE(contains(file("sweep.log"), "got USR1")) << file("sweep.log");
  EXPECT_TRUE(contains(job_log(), " 42 signal SIGUSR1: passing it on to the ranks")) << job_log();
  EXPECT_EQ(file("scontrol.log"), "requeue 42\n");
}

TEST_F(JobRuntime, TermReachesTheRanksButDoesNotRequeue) {
  const auto r = run_and_signal("TERM");
  EXPECT_TRUE(contains(r.output, "exit=3")) << r.output;
  EXPECT_TRUE(contains(file("sweep.log"), "got TERM")) << file("sweep.log");
  EXPECT_TRUE(contains(job_log(), "interrupted by SIGTERM (scancel, preemption or the time limit); not requeued")) << job_log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/scontrol.log"));
}

TEST_F(JobRuntime, ArrayTaskRunsItsShardAndResubmitsOnlyItself) {
  const std::string text = render_array_chunk(profile_, study_, {1000, 500}, 3000, dir_ + "/job.sbatch");
  const auto r = run(text, "FAKE_EXIT=3 FAKE_REQUEUE_FAILS=1 SLURM_ARRAY_JOB_ID=40 SLURM_ARRAY_TASK_ID=2");
  EXPECT_EQ(r.code, 3) << r.output;
  EXPECT_EQ(file("sweep.log"), "[sweep][" + dir_ + "/smoke.yaml][--out][" + dir_ +
                                   "/smoke.task1002.h5][--resume][--shard][1002/3000][--threads][16][model=m.pth]"
                                   "[data.eval=my eval.jsonl]\n");
  EXPECT_EQ(file("scontrol.log"), "requeue 42\n");  // the task's own job id
  EXPECT_EQ(file("sbatch.log"), "--parsable --export=ALL --array=2 " + dir_ + "/job.sbatch RESUBMITS=1\n");
  EXPECT_TRUE(contains(job_log(), " 40_2 start attempt 0 on ")) << job_log();
}
