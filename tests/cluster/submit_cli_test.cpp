// `statetune submit` and `statetune status` end to end against stand-in Slurm commands
// (fake_slurm.h): what is queued, what is recorded, and that a failure leaves nothing behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "cluster_files.h"
#include "fake_slurm.h"

using statetune::testing::CommandResult;
using statetune::testing::contains;
using statetune::testing::install_fake_slurm;
using statetune::testing::kSweep;
using statetune::testing::read_file;
using statetune::testing::run_command;
using statetune::testing::statetune_binary;
using statetune::testing::temp_dir;
using statetune::testing::write_file;

namespace fs = std::filesystem;

namespace {

class SubmitCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("submit_cli");
    env_ = install_fake_slurm(dir_);
    write_file(dir_, "smoke.yaml", kSweep);
    write_file(dir_, "local.yaml", "partition: debug\nnodes: 1\nranks_per_node: 2\ntime_limit: \"30:00\"\n");
  }

  // `statetune ARGS` in the study folder with the stand-ins first on PATH, and `extra_env`.
  CommandResult statetune(const std::string& args, const std::string& extra_env = "") {
    return run_command("cd " + dir_ + " && " + env_ + extra_env + " " + statetune_binary() + " " + args);
  }
  std::string log(const std::string& name) { return read_file(dir_ + "/" + name + ".log"); }
  bool exists(const std::string& name) { return fs::exists(dir_ + "/" + name); }

  std::string dir_, env_;
};

}  // namespace

TEST_F(SubmitCli, QueuesHeldRecordsTheJobThenReleasesIt) {
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "submitted study 'smoke' (6 runs) to Slurm:\n  job 100: the whole study")) << r.output;
  // Held until the results file names the job, then released.
  EXPECT_EQ(log("sbatch"), "--parsable --hold " + dir_ + "/smoke.slurm/job.sbatch\n");
  EXPECT_EQ(log("scontrol"), "release 100\n");
  EXPECT_TRUE(exists("smoke.h5"));
  EXPECT_TRUE(exists("smoke.slurm/logs"));
  EXPECT_TRUE(contains(read_file(dir_ + "/smoke.slurm/job.sbatch"), "#SBATCH --partition=debug\n"));
  EXPECT_TRUE(contains(read_file(dir_ + "/smoke.slurm/jobs.log"), " 100 submitted " + dir_ + "/smoke.slurm/job.sbatch"));

  // status: the runs (none yet: the job has not started) and the live job.
  write_file(dir_, "squeue_rows", "100|RUNNING|None|node7|0:42|30:00\n");
  const auto s = statetune("status smoke.h5");
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_TRUE(contains(s.output, "study 'smoke': 0 runs: no runs yet")) << s.output;
  EXPECT_TRUE(contains(s.output, "Slurm jobs (squeue):\n  100              RUNNING     0:42 of 30:00 on node7")) << s.output;
  EXPECT_TRUE(contains(log("squeue"), "-h -t all -j 100 ")) << log("squeue");

  // Without squeue the runs are still shown, and status says why the jobs' state is not.
  const auto no_squeue = run_command("cd " + dir_ + " && env PATH=" + dir_ + " " + statetune_binary() + " status smoke.h5");
  ASSERT_EQ(no_squeue.code, 0) << no_squeue.output;
  EXPECT_TRUE(contains(no_squeue.output, "study 'smoke': 0 runs")) << no_squeue.output;
  EXPECT_TRUE(contains(no_squeue.output, "Slurm jobs: 100: live state unknown: squeue not found on PATH")) << no_squeue.output;
}

TEST_F(SubmitCli, FailingSbatchIsAClearErrorAndLeavesNothingBehind) {
  write_file(dir_, "bad.yaml", "partition: nosuch\n");
  const auto r = statetune("submit smoke.yaml --cluster bad.yaml --out smoke.h5 model=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "statetune: error: sbatch refused the whole study")) << r.output;
  EXPECT_TRUE(contains(r.output, "sbatch: error: invalid partition specified: nosuch")) << r.output;
  EXPECT_FALSE(contains(r.output, "submitted")) << r.output;
  EXPECT_FALSE(exists("smoke.h5"));
  EXPECT_FALSE(exists("smoke.slurm"));
  EXPECT_FALSE(exists("scontrol.log"));  // nothing to release
}

TEST_F(SubmitCli, ArrayOverMaxArraySizeIsChunkedAndAFailedChunkCancelsTheOthers) {
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 --array 5 model=m.pth",
                           "FAKE_MAX_ARRAY_SIZE=3 FAKE_SBATCH_FAIL_AFTER=1");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "sbatch refused array tasks 3-4 of 5")) << r.output;
  EXPECT_TRUE(contains(r.output, "QOSMaxSubmitJobPerUserLimit; cancelled the jobs queued before it (100)")) << r.output;
  EXPECT_EQ(log("scancel"), "100\n");
  EXPECT_FALSE(exists("smoke.slurm"));
  EXPECT_FALSE(exists("smoke.task0.h5"));
}

TEST_F(SubmitCli, ArrayTasksEachGetAResultsFileAndStatusReadsThemBeforeTheMerge) {
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 --array 5 model=m.pth",
                           "FAKE_MAX_ARRAY_SIZE=3");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "# note: 5 tasks exceed MaxArraySize 3")) << r.output;
  EXPECT_TRUE(contains(r.output, "job 100: array tasks 0-2 of 5")) << r.output;
  EXPECT_TRUE(contains(r.output, "job 101: array tasks 3-4 of 5")) << r.output;
  EXPECT_TRUE(contains(r.output, "when done: statetune merge smoke.h5 " + dir_ + "/smoke.task*.h5")) << r.output;
  EXPECT_EQ(log("scontrol"), "show config\nrelease 100,101\n");
  for (int task = 0; task < 5; ++task) EXPECT_TRUE(exists("smoke.task" + std::to_string(task) + ".h5")) << task;
  EXPECT_FALSE(exists("smoke.h5"));
  EXPECT_TRUE(contains(read_file(dir_ + "/smoke.slurm/array1.sbatch"), "task=$(( 3 + SLURM_ARRAY_TASK_ID ))"));

  const auto s = statetune("status smoke.h5");
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_TRUE(contains(s.output, "from 5 array task files")) << s.output;
  EXPECT_TRUE(contains(s.output, "  100              no longer known to Slurm")) << s.output;
}

TEST_F(SubmitCli, MoreTasksThanMaxSubmitJobsGoInWavesQueuedByChainJobs) {
  write_file(dir_, "small_qos.yaml", "partition: debug\nmax_submit_jobs: 4\n");
  const auto r = statetune("submit smoke.yaml --cluster small_qos.yaml --out smoke.h5 --array 6 model=m.pth");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "3 waves, each queued by a chain job")) << r.output;
  // Wave 0 (tasks 0-1) now, and the chain job that queues wave 1 once it has left the queue.
  EXPECT_EQ(log("sbatch"), "--parsable --hold " + dir_ + "/smoke.slurm/array0.sbatch\n" +
                               "--parsable --hold --dependency=afterany:100 " + dir_ + "/smoke.slurm/chain1.sbatch\n");
  const std::string chain1 = read_file(dir_ + "/smoke.slurm/chain1.sbatch");
  EXPECT_TRUE(contains(chain1, "wave=(" + dir_ + "/smoke.slurm/array1.sbatch)\nnext_chain=" + dir_ +
                                   "/smoke.slurm/chain2.sbatch\n"))
      << chain1;
}

TEST_F(SubmitCli, ASecondSubmissionWhileTheJobsAreQueuedIsRefused) {
  ASSERT_EQ(statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth").code, 0);
  write_file(dir_, "squeue_rows", "100|PENDING|Priority||0:00|30:00\n");
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "the study already has jobs in the queue: 100 (PENDING)")) << r.output;
  EXPECT_EQ(log("sbatch"), "--parsable --hold " + dir_ + "/smoke.slurm/job.sbatch\n");  // only the first
}

TEST_F(SubmitCli, AResultsFileOfAnotherStudyIsRefusedBeforeAnythingIsQueued) {
  ASSERT_EQ(statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth").code, 0);
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=other.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "smoke.h5: the file was written by a different sweep or other overrides")) << r.output;
  EXPECT_EQ(log("sbatch"), "--parsable --hold " + dir_ + "/smoke.slurm/job.sbatch\n");
}

// The results file's folder is made; an impossible one, or a run output that could never be
// written, is refused before anything is queued (not after the wait in the queue).
TEST_F(SubmitCli, MakesTheResultsFolderOrRefusesImpossiblePathsBeforeQueueing) {
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out studies/new/smoke.h5 model=m.pth");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(exists("studies/new/smoke.h5"));
  EXPECT_TRUE(exists("studies/new/smoke.slurm/job.sbatch"));
  fs::remove(dir_ + "/sbatch.log");

  write_file(dir_, "plain.txt", "a file where a folder would have to be\n");
  const auto bad_out = statetune("submit smoke.yaml --cluster local.yaml --out plain.txt/smoke.h5 model=m.pth");
  EXPECT_EQ(bad_out.code, 1) << bad_out.output;
  EXPECT_TRUE(contains(bad_out.output, "statetune: error: --out plain.txt/smoke.h5: plain.txt is a file, not a folder"))
      << bad_out.output;
  const auto bad_run = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth output=" + dir_ +
                                 "/plain.txt/{hash}.pth");
  EXPECT_EQ(bad_run.code, 1) << bad_run.output;
  EXPECT_TRUE(contains(bad_run.output, ": output " + dir_ + "/plain.txt/")) << bad_run.output;
  EXPECT_TRUE(contains(bad_run.output, dir_ + "/plain.txt is a file, not a folder")) << bad_run.output;
  EXPECT_FALSE(exists("sbatch.log")) << "nothing was queued";
  EXPECT_FALSE(exists("smoke.h5"));
  EXPECT_FALSE(exists("smoke.slurm"));
}

TEST_F(SubmitCli, DryRunPrintsEveryScriptAndWritesNothing) {
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 --array 5 --dry-run model=m.pth",
                           "FAKE_MAX_ARRAY_SIZE=3");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "# ==== " + dir_ + "/smoke.slurm/array0.sbatch: array tasks 0-2 of 5")) << r.output;
  EXPECT_TRUE(contains(r.output, "# ==== " + dir_ + "/smoke.slurm/array1.sbatch: array tasks 3-4 of 5")) << r.output;
  EXPECT_TRUE(contains(r.output, "# dry run: 2 script(s) for 6 runs; nothing was written or submitted")) << r.output;
  EXPECT_FALSE(exists("sbatch.log"));
  EXPECT_FALSE(exists("smoke.slurm"));
  EXPECT_FALSE(exists("smoke.task0.h5"));
}

TEST(SubmitCliWithoutSlurm, DryRunUsesSlurmsDefaultsAndSaysSo) {
  const std::string dir = temp_dir("submit_no_slurm");
  write_file(dir, "smoke.yaml", kSweep);
  write_file(dir, "local.yaml", "partition: debug\n");
  const auto r = run_command("cd " + dir + " && env PATH=" + dir + " " + statetune_binary() +
                             " submit smoke.yaml --cluster local.yaml --out smoke.h5 --array 2 --dry-run model=m.pth");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "# note: scontrol not found: assuming MaxArraySize 1001 (Slurm's default)")) << r.output;
  EXPECT_TRUE(contains(r.output, "#SBATCH --array=0-1\n")) << r.output;
}

TEST(SubmitCliWithoutSlurm, BadInputIsAOneLineErrorNamingWhere) {
  const std::string dir = temp_dir("submit_bad_input");
  write_file(dir, "smoke.yaml", kSweep);
  write_file(dir, "bad.yaml", "partition: gpu\nnodes: two\n");
  write_file(dir, "ok.yaml", "nodes: 1\nranks_per_node: 3\n");
  auto submit = [&](const std::string& args) {
    return run_command("cd " + dir + " && " + statetune_binary() + " submit smoke.yaml --out s.h5 --dry-run " + args);
  };
  auto r = submit("--cluster bad.yaml model=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "statetune: error: bad.yaml:2: key 'nodes': expected an integer >= 1, got 'two'")) << r.output;
  r = submit("--cluster ok.yaml --array 7 model=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--array 7: the sweep smoke.yaml has only 6 runs")) << r.output;
  r = submit("--cluster ok.yaml --ranks-per-run 2 model=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "--ranks-per-run 2: the 3 ranks of a job")) << r.output;
  r = submit("--cluster ok.yaml modle=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown key 'modle' (did you mean 'model'?)")) << r.output;
}
