// Against a real Slurm on this machine (cluster/scripts/start_local_slurm.sh), when one is up:
// a refused sbatch, a whole round trip, and a job that resubmits itself. Skipped loudly
// otherwise. Each test submits a stand-in for `statetune sweep` (statetune_binary), since
// what is tested is the Slurm side.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli_runner.h"
#include "cluster_files.h"

using statetune::testing::CommandResult;
using statetune::testing::contains;
using statetune::testing::kSweep;
using statetune::testing::read_file;
using statetune::testing::run_command;
using statetune::testing::statetune_binary;
using statetune::testing::temp_dir;
using statetune::testing::write_file;

namespace fs = std::filesystem;

namespace {

#define LOCAL_SLURM_OR_SKIP()                                                                                       \
  if (run_command("command -v sbatch && scontrol ping").code != 0) {                                                \
    GTEST_SKIP() << "SKIPPED LOUDLY: no Slurm reachable here (sbatch missing or `scontrol ping` failed); start one " \
                    "with: eval \"$(bash cluster/scripts/start_local_slurm.sh)\"";                                  \
  }

// Exits 3 on its first call (as `sweep` does when stopped), 0 after; logs its arguments.
const char* kStandIn = R"SH(#!/bin/bash
dir="$(dirname "$0")"
echo "$*" >> "$dir/sweep.log"
if [ -f "$dir/attempted" ] || [ -z "${STOP_FIRST:-}" ]; then exit 0; fi
touch "$dir/attempted"
exit 3
)SH";

// scontrol that refuses `requeue` (as some clusters do) and is the real one otherwise.
const char* kNoRequeueScontrol = R"SH(#!/bin/bash
if [ "$1" = requeue ]; then echo "scontrol: error: requeue refused by this test" >&2; exit 1; fi
exec /usr/bin/scontrol "$@"
)SH";

class LocalSlurm : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("local_slurm");
    write_file(dir_, "smoke.yaml", kSweep);
    const std::string stand_in = write_file(dir_, "bin/fake-statetune", kStandIn);
    fs::permissions(stand_in, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read |
                                  fs::perms::group_exec | fs::perms::others_exec);
  }

  CommandResult statetune(const std::string& args) {
    return run_command("cd " + dir_ + " && " + statetune_binary() + " " + args);
  }

  // Waits until squeue no longer lists the job (or 90 s pass); true when it left the queue.
  bool wait_gone(const std::string& job) {
    for (int i = 0; i < 450; ++i) {
      const auto r = run_command("squeue -h -j " + job + " -o %T");
      if (r.output.find_first_not_of(" \n") == std::string::npos || contains(r.output, "Invalid job id")) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  std::string job_log() { return read_file(dir_ + "/smoke.slurm/jobs.log"); }

  std::string dir_;
};

}  // namespace

TEST_F(LocalSlurm, RefusedSbatchIsAClearErrorWithANonZeroExit) {
  LOCAL_SLURM_OR_SKIP();
  write_file(dir_, "bad.yaml", "partition: nosuchpartition\n");
  const auto r = statetune("submit smoke.yaml --cluster bad.yaml --out smoke.h5 model=m.pth");
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_TRUE(contains(r.output, "statetune: error: sbatch refused the whole study")) << r.output;
  EXPECT_TRUE(contains(r.output, "invalid partition specified: nosuchpartition")) << r.output;
  EXPECT_FALSE(contains(r.output, "submitted")) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/smoke.h5"));
  EXPECT_FALSE(fs::exists(dir_ + "/smoke.slurm"));
}

TEST_F(LocalSlurm, SubmittedJobRunsTheStudyCommandAndStatusFollowsIt) {
  LOCAL_SLURM_OR_SKIP();
  write_file(dir_, "local.yaml", "nodes: 1\nranks_per_node: 1\ntime_limit: \"5:00\"\nsignal_warning_seconds: 60\n"
                                 "launcher: srun\nstatetune_binary: bin/fake-statetune\n");
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth");
  ASSERT_EQ(r.code, 0) << r.output;
  const auto at = r.output.find("  job ");
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::string job = r.output.substr(at + 6, r.output.find(':', at) - at - 6);
  ASSERT_TRUE(wait_gone(job)) << "job " << job << " still queued after 90 s";

  EXPECT_EQ(read_file(dir_ + "/bin/sweep.log"), "sweep " + dir_ + "/smoke.yaml --out " + dir_ + "/smoke.h5 --resume model=m.pth\n");
  EXPECT_TRUE(contains(job_log(), " " + job + " done every run finished")) << job_log();
  const auto s = statetune("status smoke.h5");
  ASSERT_EQ(s.code, 0) << s.output;
  EXPECT_TRUE(contains(s.output, job + " ")) << s.output;
  EXPECT_TRUE(contains(s.output, "COMPLETED")) << s.output;
}

TEST_F(LocalSlurm, StoppedJobWhoseRequeueIsRefusedResubmitsItselfAndFinishes) {
  LOCAL_SLURM_OR_SKIP();
  const std::string scontrol = write_file(dir_, "nobin/scontrol", kNoRequeueScontrol);
  fs::permissions(scontrol, fs::perms::owner_all);
  write_file(dir_, "local.yaml", "launcher: srun\nstatetune_binary: bin/fake-statetune\nmax_requeues: 1\n"
                                 "setup:\n  - export STOP_FIRST=1\n  - export PATH=" + dir_ + "/nobin:$PATH\n");
  const auto r = statetune("submit smoke.yaml --cluster local.yaml --out smoke.h5 model=m.pth");
  ASSERT_EQ(r.code, 0) << r.output;
  // The first job stops (exit 3), cannot requeue, resubmits; the second finishes.
  std::string second;
  for (int i = 0; i < 300 && second.empty(); ++i) {
    const std::string log = job_log();
    const auto at = log.find(" resubmit continues as job ");
    if (at != std::string::npos) second = log.substr(at + 27, log.find('\n', at) - at - 27);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(second.empty()) << job_log();
  ASSERT_TRUE(wait_gone(second)) << job_log();
  const std::string log = job_log();
  EXPECT_TRUE(contains(log, "scontrol requeue failed (scontrol: error: requeue refused by this test)")) << log;
  EXPECT_TRUE(contains(log, " " + second + " start attempt 1 on ")) << log;
  EXPECT_TRUE(contains(log, " " + second + " done every run finished")) << log;
  // status follows the resubmitted job too.
  const auto s = statetune("status smoke.h5");
  EXPECT_TRUE(contains(s.output, "  " + second + " ")) << s.output;
}
