// End to end against a real Slurm on this machine (cluster/scripts/start_local_slurm.sh), with
// the real `statetune sweep` on a tiny random model: a study submitted as one job of two
// `srun --mpi=pmix` ranks, as an array of two tasks (merged after), and stopped with USR1
// mid-study (requeued by `scontrol requeue`, or resubmitted when the cluster refuses that)
// gives the results of the same study run directly with `mpirun -np 2`; USR1 while the ranks
// are still starting stops the job (it comes back) rather than failing it. Skipped loudly when
// no Slurm answers (as local_slurm_test.cpp), or it has no pmix plugin, or mpirun is missing.
//
// The tests print MEASURED: lines: how long from `submit` returning to the first run starting,
// and what a requeue or resubmit cycle costs. They take the Slurm node whole (2 ranks), so they
// hold a file lock while they run: under `ctest -j2` they wait for each other instead of
// queueing behind each other's jobs (which would spoil the timings).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "cli/tiny_inputs.h"
#include "cli_runner.h"
#include "cluster_files.h"
#include "study_compare.h"

using statetune::testing::CommandResult;
using statetune::testing::contains;
using statetune::testing::expect_same_study_results;
using statetune::testing::read_file;
using statetune::testing::read_study_runs;
using statetune::testing::tiny_model_args;
using statetune::testing::write_byte_vocab;
using statetune::testing::write_plus_one_examples;
using statetune::testing::run_command;
using statetune::testing::statetune_binary;
using statetune::testing::StudyRun;
using statetune::testing::temp_dir;
using statetune::testing::write_file;

namespace fs = std::filesystem;
namespace results = statetune::results;

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kTimeoutSeconds = 300;  // for a job to start, finish, requeue; generous under load
constexpr int kShortSteps = 4;           // a whole run in ~0.1 s
constexpr int kLongSteps = 120;          // ~2 s a run: still running when USR1 arrives
constexpr double kRelative = 1e-9;
const char* kMpirun = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 ";

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Calls `ready` every period_ms until it returns true (true) or timeout_s pass (false).
bool poll_until(const std::function<bool()>& ready, double timeout_s, int period_ms) {
  const auto start = Clock::now();
  while (true) {
    if (ready()) return true;
    if (seconds_since(start) > timeout_s) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(period_ms));
  }
}

// The runs of a study file as the writer last committed them; empty while it cannot be read.
std::vector<results::RunInfo> runs_now(const std::string& path) {
  try {
    if (!fs::exists(path)) return {};
    return results::StudyReader::open(path).runs();
  } catch (const std::exception&) {
    return {};
  }
}

bool any_run(const std::string& path, const std::function<bool(const results::RunInfo&)>& what) {
  for (const auto& run : runs_now(path)) {
    if (what(run)) return true;
  }
  return false;
}

// A job's row in squeue: "STATE|REASON|START" ("" when Slurm no longer lists it).
std::string queue_row(const std::string& job) {
  const auto r = run_command("squeue -h -j " + job + " -o '%T|%r|%S'");
  if (r.code != 0 || contains(r.output, "Invalid job id")) return "";
  const std::string line = r.output.substr(0, r.output.find('\n'));
  return line.find_first_not_of(' ') == std::string::npos ? "" : line;
}

std::string field(const std::string& row, int index) {
  std::stringstream s(row);
  std::string part;
  for (int i = 0; i <= index && std::getline(s, part, '|');) {
    if (i++ == index) return part;
  }
  return "";
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// As local_slurm_test.cpp, but quick also when SLURM_CONF names a file that is gone (a stopped
// local Slurm): scontrol then retries reading it for about a minute.
#define SLURM_E2E_OR_SKIP()                                                                                          \
  if (run_command("command -v sbatch && { [ -z \"${SLURM_CONF:-}\" ] || [ -f \"$SLURM_CONF\" ]; } && "              \
                  "timeout 30 scontrol ping")                                                                        \
          .code != 0) {                                                                                              \
    GTEST_SKIP() << "SKIPPED LOUDLY: no Slurm reachable here (sbatch missing or `scontrol ping` failed); start one " \
                    "with: eval \"$(bash cluster/scripts/start_local_slurm.sh)\"";                                   \
  }                                                                                                                  \
  if (run_command("srun --mpi=list 2>&1 | grep -qw pmix").code != 0) {                                               \
    GTEST_SKIP() << "SKIPPED LOUDLY: this Slurm has no pmix MPI plugin (`srun --mpi=list`), which the jobs use";     \
  }                                                                                                                  \
  if (run_command("command -v mpirun").code != 0) {                                                                  \
    GTEST_SKIP() << "SKIPPED LOUDLY: mpirun not found; the reference studies run under it";                          \
  }

class SlurmE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    SLURM_E2E_OR_SKIP();
    lock_ = ::open((fs::temp_directory_path() / "statetune_slurm_e2e.lock").c_str(), O_CREAT | O_RDWR, 0666);
    if (lock_ >= 0) ::flock(lock_, LOCK_EX);
    dir_ = temp_dir("slurm_e2e");
    // A byte-level vocabulary, ten examples, a 2-layer random model (tests/cli/tiny_inputs.h).
    write_byte_vocab(dir_ + "/vocab.txt");
    write_plus_one_examples(dir_ + "/train.jsonl", 10);
    const auto model = statetune(tiny_model_args(dir_ + "/m.pth"));
    ASSERT_EQ(model.code, 0) << model.output;
    // One node, two ranks of one CPU: the ranks form two groups of one rank (sweep's default).
    write_file(dir_, "local.yaml", profile(""));
    // The same, on a cluster that refuses `scontrol requeue`: the job resubmits itself.
    const std::string real_scontrol = run_command("command -v scontrol").output;
    const std::string scontrol = write_file(
        dir_, "nobin/scontrol",
        "#!/bin/bash\n"
        "if [ \"$1\" = requeue ]; then echo \"scontrol: error: requeue refused by this test\" >&2; exit 1; fi\n"
        "exec " + real_scontrol.substr(0, real_scontrol.find('\n')) + " \"$@\"\n");
    fs::permissions(scontrol, fs::perms::owner_all);
    write_file(dir_, "norequeue.yaml", profile("setup:\n  - export PATH=" + dir_ + "/nobin:$PATH\n"));
  }

  void TearDown() override {
    for (const auto& job : jobs_) {
      if (!queue_row(job).empty()) run_command("scancel " + job);
    }
    if (lock_ >= 0) ::close(lock_);
    if (!dir_.empty() && !HasFailure()) fs::remove_all(dir_);
  }

  static std::string profile(const std::string& more) {
    return "time_limit: \"15:00\"\n"
           "nodes: 1\n"
           "ranks_per_node: 2\n"
           "cpus_per_rank: 1\n"
           "launcher: srun --mpi=pmix\n"
           "signal_warning_seconds: 60\n"
           "max_requeues: 2\n" +
           more;
  }

  CommandResult statetune(const std::string& args) { return run_command(statetune_binary() + " " + args); }

  // DIR/NAME/study.yaml: the 6-run study (3 methods x 2 seeds); tuned states go to
  // DIR/NAME/states/, checkpoints beside the results file, so studies share nothing.
  std::string study_dir(const std::string& name, int steps) {
    const std::string dir = dir_ + "/" + name;
    write_file(dir, "study.yaml",
               "base:\n"
               "  model: " + dir_ + "/m.pth\n"
               "  vocab: " + dir_ + "/vocab.txt\n"
               "  output: states/{hash}.pth\n"
               "  steps: " + std::to_string(steps) + "\n"
               "  batch: 3\n"
               "  M: 8\n"
               "  lr: 0.1\n"
               "  data:\n"
               "    benchmark: jsonl\n"
               "    train: " + dir_ + "/train.jsonl\n"
               "    eval: " + dir_ + "/train.jsonl\n"
               "grid:\n"
               "  method: [standard, kernel, dbp]\n"
               "  seed: [0, 1]\n");
    return dir;
  }

  // The study run directly: mpirun -np 2 statetune sweep (two groups of one rank).
  std::map<std::string, StudyRun> reference(int steps) {
    const std::string dir = study_dir("direct", steps);
    const auto start = Clock::now();
    const auto r = run_command("cd " + dir + " && " + kMpirun + statetune_binary() + " sweep study.yaml --out direct.h5");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_TRUE(contains(r.output, "2 group(s) of 1 rank(s)")) << r.output;
    std::printf("reference: the study (%d steps a run) under mpirun -np 2 took %.1f s\n", steps, seconds_since(start));
    if (r.code != 0) return {};
    return read_study_runs(dir + "/direct.h5");
  }

  struct Submission {
    std::vector<std::string> jobs;  // as submit printed them
    Clock::time_point returned;
  };

  Submission submit(const std::string& dir, const std::string& profile_file, const std::string& more) {
    Submission s;
    const auto r = run_command("cd " + dir + " && " + statetune_binary() + " submit study.yaml --cluster " + dir_ + "/" +
                               profile_file + " --out study.h5" + more);
    s.returned = Clock::now();
    EXPECT_EQ(r.code, 0) << r.output;
    std::stringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  job ", 0) == 0) s.jobs.push_back(line.substr(6, line.find(':') - 6));
    }
    jobs_.insert(jobs_.end(), s.jobs.begin(), s.jobs.end());
    EXPECT_FALSE(s.jobs.empty()) << r.output;
    return s;
  }

  // True once squeue no longer lists the job (all its array tasks).
  bool wait_gone(const std::string& job) {
    return poll_until([&] { return queue_row(job).empty(); }, kTimeoutSeconds, 250);
  }

  static std::string job_log(const std::string& dir) { return read_file(dir + "/study.slurm/jobs.log"); }

  // The jobs' stdout and stderr, every file of RESULTS.slurm/logs.
  static std::string job_output(const std::string& dir) {
    std::string text;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir + "/study.slurm/logs", ec)) {
      text += "==== " + entry.path().filename().string() + "\n" + read_file(entry.path().string());
    }
    return text;
  }

  // How often the jobs' output says run `hash` finished ("run HASH [method] on HOST: done in").
  static int done_lines(const std::string& output, const std::string& hash) {
    int n = 0;
    std::stringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      n += line.rfind("run " + hash + " [", 0) == 0 && contains(line, ": done in ");
    }
    return n;
  }

  // USR1 once the first run runs; the job requeues (or, refused, resubmits) itself and finishes.
  void interrupt_mid_study(bool refuse_requeue);

  std::string dir_;
  std::vector<std::string> jobs_;
  int lock_ = -1;
};

void SlurmE2E::interrupt_mid_study(bool refuse_requeue) {
  const auto want = reference(kLongSteps);
  ASSERT_EQ(want.size(), 6u);
  const std::string dir = study_dir(refuse_requeue ? "resubmit" : "requeue", kLongSteps);
  const std::string study = dir + "/study.h5";
  const Submission s = submit(dir, refuse_requeue ? "norequeue.yaml" : "local.yaml", "");
  ASSERT_EQ(s.jobs.size(), 1u);
  const std::string job = s.jobs[0];

  const bool running = poll_until(
      [&] { return any_run(study, [](const results::RunInfo& r) { return r.status == results::RunStatus::kRunning; }); },
      kTimeoutSeconds, 20);
  ASSERT_TRUE(running) << "no run started\n" << job_log(dir) << job_output(dir);
  const auto signalled = Clock::now();
  const double signalled_unix = unix_now();
  const auto sent = run_command("scancel --batch --signal=USR1 " + job);
  ASSERT_EQ(sent.code, 0) << sent.output;

  std::string final_job = job;
  double hold = 0;  // the BeginTime Slurm gave the requeued job, seconds after the signal
  Clock::time_point back;  // requeued and pending, or the resubmitted job known
  Clock::time_point pending_since;
  if (!refuse_requeue) {
    // Back in the queue: PENDING. Slurm holds a requeued job until a BeginTime about two
    // minutes on (the job credential's lifetime); the reason shows a moment after the state.
    std::string row, last = "-", rows;  // rows: each change of the job's squeue row
    ASSERT_TRUE(poll_until(
        [&] {
          row = queue_row(job);
          if (row != last) rows += "  " + (last = row) + "\n";
          if (field(row, 0) == "PENDING" && back == Clock::time_point{}) back = Clock::now();
          return (field(row, 0) == "PENDING" && field(row, 1) == "BeginTime") ||
                 (back != Clock::time_point{} && seconds_since(back) > 10);
        },
        kTimeoutSeconds, 50))
        << "job " << job << " did not come back to the queue; squeue rows:\n" << rows << job_log(dir) << job_output(dir);
    std::printf("squeue rows of job %s after the signal:\n%s", job.c_str(), rows.c_str());
    // Slurm holds the requeued job until its old credential expires (cred_expire, 10 s in the
    // local Slurm). Moving that BeginTime earlier gets the job killed ("Job credential
    // revoked"), so the test waits it out.
    pending_since = Clock::now();
    if (field(row, 1) == "BeginTime") {
      const auto begin = run_command("date -d '" + field(row, 2) + "' +%s");
      if (begin.code == 0) hold = std::stod(begin.output) - signalled_unix;
    }
  } else {
    ASSERT_TRUE(poll_until(
        [&] {
          const std::string log = job_log(dir);
          const auto at = log.find(" resubmit continues as job ");
          if (at == std::string::npos) return false;
          final_job = log.substr(at + 27, log.find('\n', at) - at - 27);
          return true;
        },
        kTimeoutSeconds, 50))
        << job_log(dir) << job_output(dir);
    back = pending_since = Clock::now();
    jobs_.push_back(final_job);
  }
  // The interrupted run runs again (its second attempt) or has already finished it.
  const bool resumed = poll_until(
      [&] {
        return any_run(study, [](const results::RunInfo& r) {
          return r.attempts >= 2 &&
                 (r.status == results::RunStatus::kRunning || r.status == results::RunStatus::kDone);
        });
      },
      kTimeoutSeconds, 20);
  const double cycle = std::chrono::duration<double>(Clock::now() - signalled).count();
  ASSERT_TRUE(resumed) << "no interrupted run started again\n" << job_log(dir) << job_output(dir);
  const double to_back = std::chrono::duration<double>(back - signalled).count();
  const double after_back = std::chrono::duration<double>(Clock::now() - pending_since).count();
  if (refuse_requeue) {
    std::printf("MEASURED: resubmit cycle: USR1 sent -> the interrupted run starts again: %.2f s (signal -> "
                "resubmitted job %s in the job log: %.2f s)\n",
                cycle, final_job.c_str(), to_back);
  } else {
    std::printf("MEASURED: requeue cycle: USR1 sent -> job %s pending again (requeued): %.2f s; Slurm's BeginTime "
                "hold (cred_expire, 10 s here, 120 s by default): %.0f s after the signal; pending -> the interrupted "
                "run starts again: %.2f s; signal -> run again: %.2f s\n",
                job.c_str(), to_back, hold, after_back, cycle);
  }
  std::fflush(stdout);
  ASSERT_TRUE(wait_gone(final_job)) << "job " << final_job << " still queued\n" << job_log(dir);
  std::printf("the interrupted study finished %.1f s after submit returned\n", seconds_since(s.returned));

  const std::string log = job_log(dir);
  const std::string output = job_output(dir);
  EXPECT_TRUE(contains(log, " " + job + " signal SIGUSR1: passing it on to the ranks")) << log;
  EXPECT_TRUE(contains(log, " " + job + " requeue interrupted with checkpoints; requeueing (requeue 1 of 2)")) << log;
  if (refuse_requeue) {
    EXPECT_TRUE(contains(log, "scontrol requeue failed (scontrol: error: requeue refused by this test)")) << log;
    EXPECT_TRUE(contains(log, " " + final_job + " submitted ")) << log;
  }
  EXPECT_TRUE(contains(log, " " + final_job + " start attempt 1 on ")) << log;
  EXPECT_TRUE(contains(log, " " + final_job + " done every run finished")) << log << output;

  const auto got = read_study_runs(study);
  ASSERT_EQ(got.size(), 6u) << output;
  int interrupted = 0;
  for (const auto& [hash, run] : got) {
    EXPECT_EQ(run.status, "done") << hash;
    EXPECT_GE(run.attempts, 1) << hash;
    EXPECT_LE(run.attempts, 2) << hash;
    interrupted += run.attempts == 2;
    EXPECT_EQ(done_lines(output, hash), 1) << "run " << hash << " should have finished exactly once\n" << output;
    EXPECT_EQ(run.steps.size(), static_cast<std::size_t>(kLongSteps)) << hash;
    for (std::size_t i = 0; i < run.steps.size(); ++i) EXPECT_EQ(run.steps[i], static_cast<std::int64_t>(i)) << hash;
  }
  std::printf("%d run(s) were interrupted and finished on their second attempt; the others ran once\n", interrupted);
  EXPECT_GE(interrupted, 1) << "no run was interrupted: USR1 came too late to test anything\n" << output;
  EXPECT_TRUE(contains(output, "interrupted")) << output;
  expect_same_study_results(want, got, kRelative);
}

}  // namespace

TEST_F(SlurmE2E, OneJobOfTwoSrunPmixRanksGivesTheResultsOfMpirun) {
  const auto want = reference(kShortSteps);
  ASSERT_EQ(want.size(), 6u);
  const std::string dir = study_dir("one_job", kShortSteps);
  const std::string study = dir + "/study.h5";
  const Submission s = submit(dir, "local.yaml", "");
  ASSERT_EQ(s.jobs.size(), 1u);
  const std::string job = s.jobs[0];

  // Until the first run shows in the results file (running, or already done); squeue every
  // 5th poll for when the job itself started.
  double job_running = -1;
  int polls = 0;
  const bool started = poll_until(
      [&] {
        if (job_running < 0 && polls++ % 5 == 0 && field(queue_row(job), 0) == "RUNNING") {
          job_running = seconds_since(s.returned);
        }
        return any_run(study, [](const results::RunInfo& r) {
          return r.status == results::RunStatus::kRunning || r.status == results::RunStatus::kDone;
        });
      },
      kTimeoutSeconds, 20);
  const double first_run = seconds_since(s.returned);
  ASSERT_TRUE(started) << "no run started in " << kTimeoutSeconds << " s\n" << job_log(dir) << job_output(dir);
  std::printf("MEASURED: submit returned -> first run started (results file): %.2f s (squeue showed the job "
              "RUNNING after %s)\n",
              first_run, job_running < 0 ? "? s: not seen" : (std::to_string(job_running).substr(0, 4) + " s").c_str());
  std::fflush(stdout);
  ASSERT_TRUE(wait_gone(job)) << "job " << job << " still queued after " << kTimeoutSeconds << " s\n" << job_log(dir);
  std::printf("the study finished %.1f s after submit returned\n", seconds_since(s.returned));

  const std::string log = job_log(dir);
  const std::string output = job_output(dir);
  EXPECT_TRUE(contains(log, " " + job + " start attempt 0 on ")) << log;
  EXPECT_TRUE(contains(log, " " + job + " done every run finished")) << log << output;
  // One MPI world of two ranks (srun's pmix wired them up), not two single-rank studies.
  EXPECT_TRUE(contains(output, "2 group(s) of 1 rank(s)")) << output;
  const auto got = read_study_runs(study);
  for (const auto& [hash, run] : got) {
    EXPECT_EQ(run.attempts, 1) << hash;
    EXPECT_EQ(done_lines(output, hash), 1) << hash << "\n" << output;
  }
  expect_same_study_results(want, got, kRelative);
}

TEST_F(SlurmE2E, ArrayOfTwoTasksMergedGivesTheResultsOfMpirun) {
  const auto want = reference(kShortSteps);
  ASSERT_EQ(want.size(), 6u);
  const std::string dir = study_dir("array", kShortSteps);
  const Submission s = submit(dir, "local.yaml", " --array 2");
  ASSERT_EQ(s.jobs.size(), 1u);
  const std::string job = s.jobs[0];
  ASSERT_TRUE(wait_gone(job)) << "job " << job << " still queued after " << kTimeoutSeconds << " s\n" << job_log(dir);
  std::printf("MEASURED: the array of 2 tasks (one after the other: each takes the node's 2 CPUs) finished %.1f s "
              "after submit returned\n",
              seconds_since(s.returned));

  const std::string log = job_log(dir);
  const std::string output = job_output(dir);
  for (const std::string task : {"0", "1"}) {
    EXPECT_TRUE(contains(log, " " + job + "_" + task + " done every run finished")) << log << output;
    const auto runs = read_study_runs(dir + "/study.task" + task + ".h5");
    EXPECT_EQ(runs.size(), 3u) << "task " << task;
    for (const auto& [hash, run] : runs) {
      EXPECT_EQ(run.status, "done") << "task " << task << " run " << hash;
      EXPECT_EQ(run.attempts, 1) << "task " << task << " run " << hash;
    }
  }
  const auto merged = run_command("cd " + dir + " && " + statetune_binary() +
                                  " merge study.h5 study.task0.h5 study.task1.h5");
  ASSERT_EQ(merged.code, 0) << merged.output;
  EXPECT_TRUE(contains(merged.output, "6 runs (0 duplicates)")) << merged.output;
  expect_same_study_results(want, read_study_runs(dir + "/study.h5"), kRelative);
}

// The real requeue path: the job runs `scontrol requeue` on itself and comes back as the same
// job id (attempt 1) after Slurm's BeginTime hold (cred_expire: 10 s in the local Slurm).
TEST_F(SlurmE2E, Usr1MidStudyRequeuesTheJobWhichFinishesWithTheUninterruptedResults) {
  interrupt_mid_study(false);
}

// The fallback: `scontrol requeue` is refused (a stand-in on the job's PATH), so the job
// resubmits its own script with sbatch and the new job finishes the study.
TEST_F(SlurmE2E, Usr1MidStudyWithRequeueRefusedResubmitsAndFinishesWithTheUninterruptedResults) {
  interrupt_mid_study(true);
}

// USR1 while the ranks are still starting (MPI_Init, before statetune catches USR1) ends them
// with it: srun exits 128 + 10. That is a stop like any other: the job comes back (here by
// resubmission) and finishes, rather than failing. A stand-in for statetune that does not
// catch USR1 on its first attempt makes the timing certain.
TEST_F(SlurmE2E, Usr1WhileTheRanksStartStopsTheJobInsteadOfFailingIt) {
  const std::string stand_in = write_file(dir_, "bin/slow-start",
                                          "#!/bin/bash\n"
                                          "dir=\"$(dirname \"$0\")\"\n"
                                          "echo \"attempt ${STATETUNE_RESUBMITS:-0}: $*\" >> \"$dir/sweep.log\"\n"
                                          "if [ \"${STATETUNE_RESUBMITS:-0}\" = 0 ]; then\n"
                                          "  touch \"$dir/started.$SLURM_PROCID\"\n"
                                          "  exec sleep 120\n"
                                          "fi\n");
  fs::permissions(stand_in, fs::perms::owner_all);
  write_file(dir_, "slow.yaml",
             profile("statetune_binary: bin/slow-start\nsetup:\n  - export PATH=" + dir_ + "/nobin:$PATH\n"));
  const std::string dir = study_dir("slow_start", kShortSteps);
  const Submission s = submit(dir, "slow.yaml", "");
  ASSERT_EQ(s.jobs.size(), 1u);
  const std::string job = s.jobs[0];
  ASSERT_TRUE(poll_until([&] { return fs::exists(dir_ + "/bin/started.0") && fs::exists(dir_ + "/bin/started.1"); },
                         kTimeoutSeconds, 50))
      << job_log(dir);
  const auto sent = run_command("scancel --batch --signal=USR1 " + job);
  ASSERT_EQ(sent.code, 0) << sent.output;
  std::string next;
  ASSERT_TRUE(poll_until(
      [&] {
        const std::string log = job_log(dir);
        const auto at = log.find(" resubmit continues as job ");
        if (at != std::string::npos) next = log.substr(at + 27, log.find('\n', at) - at - 27);
        return !next.empty() || contains(log, " " + job + " failed ") || queue_row(job).empty();
      },
      kTimeoutSeconds, 100))
      << job_log(dir);
  const std::string log = job_log(dir);
  EXPECT_FALSE(contains(log, " " + job + " failed ")) << log << job_output(dir);
  ASSERT_FALSE(next.empty()) << "the job did not come back\n" << log << job_output(dir);
  jobs_.push_back(next);
  ASSERT_TRUE(wait_gone(next)) << job_log(dir);
  EXPECT_TRUE(contains(job_log(dir), " " + next + " done every run finished")) << job_log(dir) << job_output(dir);
}
