// End-to-end: `statetune sweep` as a user runs it (also under mpirun), on a tiny random model
// with a byte-level vocabulary: rank-group shapes give the same results, a study killed with
// SIGKILL at many points resumes to the results of an uninterrupted one, SIGTERM stops it.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "cli_runner.h"
#include "tiny_inputs.h"
#include "statetune/results/study_reader.h"

namespace {

using statetune::testing::run_command;
using statetune::testing::run_statetune;
namespace results = statetune::results;

const char* kMpirun = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 ";

class SweepCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("sweep_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    statetune::testing::write_plus_one_examples(dir_ + "/train.jsonl", 10);
    ASSERT_EQ(run_statetune(statetune::testing::tiny_model_args(dir_ + "/m.pth")).code, 0);
  }
  // 6 runs: standard, kernel, dbp x 2 seeds.
  // state_files: each run writes its state to <name>/<hash>.pth (`output`); without, the
  // study is the state's one home.
  static std::string write_sweep(const std::string& name, int64_t steps, bool state_files = true) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "base:\n  model: m.pth\n  vocab: vocab.txt\n"
                        << (state_files ? "  output: " + name + "/{hash}.pth\n" : std::string())
                        << "  steps: " << steps
                        << "\n  batch: 3\n  M: 8\n  lr: 0.1\n  checkpoint_every: 2\n  checkpoint: " << name
                        << "_ckpt/{hash}.pth\n"
                        << "  data:\n    benchmark: jsonl\n    train: train.jsonl\n    eval: train.jsonl\n"
                        << "grid:\n  method: [standard, kernel, dbp]\n  seed: [0, 1]\n";
    return path;
  }
  static std::string dir_;
};
std::string SweepCli::dir_;

// Everything a run's result is made of, except timings.
struct RunResult {
  std::string status;
  std::vector<double> losses;
  std::map<std::string, std::pair<double, double>> metrics;
  std::string state_bytes;
  std::vector<float> state;  // every tuned tensor stored in the study file, in name order
  std::string state_path;    // the run's state file ("" when the study is its only home)
};

std::map<std::string, RunResult> read_study(const std::string& path) {
  std::map<std::string, RunResult> out;
  const auto reader = results::StudyReader::open(path);
  for (const results::RunInfo& info : reader.runs()) {
    RunResult r;
    r.status = std::string(results::to_string(info.status));
    for (const auto& s : reader.metrics(info.description.hash)) r.losses.push_back(s.loss);
    for (const auto& m : reader.eval_summary(info.description.hash)) r.metrics[m.name] = {m.before, m.after};
    for (const auto& t : reader.tuned_state(info.description.hash)) r.state.insert(r.state.end(), t.values.begin(), t.values.end());
    r.state_path = info.tuned_state_path;
    if (!info.tuned_state_path.empty()) {
      std::ifstream f(info.tuned_state_path, std::ios::binary);
      r.state_bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    out[info.description.hash] = r;
  }
  return out;
}

// rel: curves and metrics; state_rel: the tuned state (float32 here, and Adam's normalised
// steps amplify summation-order differences where a gradient is near zero).
void expect_same_results(const std::map<std::string, RunResult>& a, const std::map<std::string, RunResult>& b,
                         double rel, double state_rel, bool same_state_bytes) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [hash, ra] : a) {
    ASSERT_TRUE(b.count(hash)) << hash;
    const RunResult& rb = b.at(hash);
    EXPECT_EQ(ra.status, "done") << hash;
    EXPECT_EQ(rb.status, "done") << hash;
    ASSERT_EQ(ra.losses.size(), rb.losses.size()) << hash;
    for (size_t i = 0; i < ra.losses.size(); ++i)
      EXPECT_NEAR(ra.losses[i], rb.losses[i], rel * std::abs(ra.losses[i])) << hash << " step " << i;
    ASSERT_EQ(ra.metrics.size(), rb.metrics.size()) << hash;
    for (const auto& [name, v] : ra.metrics) {
      EXPECT_NEAR(v.first, rb.metrics.at(name).first, rel * std::abs(v.first)) << hash << " " << name;
      EXPECT_NEAR(v.second, rb.metrics.at(name).second, rel * std::abs(v.second)) << hash << " " << name;
    }
    if (!ra.state_path.empty()) {
      EXPECT_FALSE(ra.state_bytes.empty()) << hash;
    }
    ASSERT_FALSE(ra.state.empty()) << hash << ": no tuned state in the study file";
    ASSERT_EQ(ra.state.size(), rb.state.size()) << hash;
    double max_abs = 0, max_diff = 0;
    for (size_t i = 0; i < ra.state.size(); ++i) {
      max_abs = std::max(max_abs, std::abs(static_cast<double>(ra.state[i])));
      max_diff = std::max(max_diff, std::abs(static_cast<double>(ra.state[i]) - rb.state[i]));
    }
    EXPECT_LE(max_diff, state_rel * max_abs) << hash << ": tuned states differ";
    if (same_state_bytes) {
      EXPECT_EQ(ra.state_bytes, rb.state_bytes) << hash << ": tuned state files differ";
    }
  }
}

TEST_F(SweepCli, RankGroupShapesGiveTheSameResultsAndEveryRunOnce) {
  // No `output`: each study holds its runs' tuned states, and nothing else is written.
  const std::string sweep = write_sweep("shapes", 4, /*state_files=*/false);
  // Each study keeps its own checkpoints: a run finds a finished checkpoint of its hash and
  // would not train again.
  const auto one = run_statetune(fmt::format("sweep {} --out {}/one.h5 checkpoint={}/one_ckpt/{{hash}}.pth", sweep,
                                             dir_, dir_));
  ASSERT_EQ(one.code, 0) << one.output;
  EXPECT_NE(one.output.find("6 done, 0 failed"), std::string::npos) << one.output;
  const auto two_groups = run_command(fmt::format("{}{} sweep {} --out {}/groups.h5 checkpoint={}/groups_ckpt/{{hash}}.pth",
                                                  kMpirun, statetune::testing::statetune_binary(), sweep, dir_, dir_));
  ASSERT_EQ(two_groups.code, 0) << two_groups.output;
  const auto one_group =
      run_command(fmt::format("{}{} sweep {} --out {}/pair.h5 --ranks-per-run 2 checkpoint={}/pair_ckpt/{{hash}}.pth",
                              kMpirun, statetune::testing::statetune_binary(), sweep, dir_, dir_));
  ASSERT_EQ(one_group.code, 0) << one_group.output;
  const auto a = read_study(dir_ + "/one.h5");
  ASSERT_EQ(a.size(), 6u);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/shapes")) << "a state file was written beside the study";
  expect_same_results(a, read_study(dir_ + "/groups.h5"), 1e-12, 1e-12, false);
  // Data parallel in float32: the 1e-5 state check in float64 is test_mpi's.
  expect_same_results(a, read_study(dir_ + "/pair.h5"), 1e-5, 1e-4, false);
  for (const auto& info : results::StudyReader::open(dir_ + "/pair.h5").runs()) {
    EXPECT_EQ(info.ranks, 2) << info.description.hash;
    EXPECT_EQ(info.attempts, 1) << info.description.hash;
  }
}

// A run that writes its state file (`output`) is not stored a second time in the study.
TEST_F(SweepCli, ATunedStateIsStoredOnce) {
  const std::string sweep = write_sweep("once", 2);
  const auto r = run_statetune(fmt::format("sweep {} --out {}/once.h5 checkpoint={}/once_ckpt/{{hash}}.pth", sweep,
                                           dir_, dir_));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto reader = results::StudyReader::open(dir_ + "/once.h5");
  ASSERT_EQ(reader.runs().size(), 6u);
  for (const auto& info : reader.runs()) {
    EXPECT_TRUE(std::filesystem::exists(info.tuned_state_path)) << info.description.hash;
    EXPECT_TRUE(reader.tuned_state(info.description.hash).empty()) << info.description.hash << ": a second copy";
  }
}

// Starts `statetune <args>` in the background (its own process, no shell in between).
pid_t start_statetune(const std::string& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const std::string cmd = "exec " + statetune::testing::statetune_binary() + " " + args + " >" + log + " 2>&1";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool h5py_available() { return run_command("/usr/bin/python3 -c 'import h5py'").code == 0; }

TEST_F(SweepCli, KilledAtManyPointsResumesToTheUninterruptedResults) {
  const std::string sweep = write_sweep("kill", 48);
  const std::string reference = dir_ + "/kill_reference.h5";
  // The uninterrupted study writes its states elsewhere: same hashes, other output folder.
  // Both keep the state in the study too (--state-in-study), so both copies are compared.
  const auto ref = run_statetune(fmt::format("sweep {} --out {} --state-in-study output={}/kill_ref/{{hash}}.pth "
                                             "checkpoint={}/kill_ref_ckpt/{{hash}}.pth",
                                             sweep, reference, dir_, dir_));
  ASSERT_EQ(ref.code, 0) << ref.output;

  const std::string study = dir_ + "/kill.h5";
  const bool h5py = h5py_available();
  int kills = 0;
  // Kill times spread over the study's life: model loading, steps, checkpoint and HDF5 commits.
  std::string history;
  // Each attempt is killed a little later after the study has a run going: during steps,
  // checkpoint writes, evaluation and the results file's commits.
  for (int attempt = 0; attempt < 10; ++attempt) {
    const pid_t pid =
        start_statetune(fmt::format("sweep {} --out {} --resume --state-in-study", sweep, study), dir_ + "/kill.log");
    bool running = false;
    for (int i = 0; i < 600 && !running && waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      try {
        if (std::filesystem::exists(study))
          for (const auto& info : results::StudyReader::open(study).runs())
            running = running || info.status == results::RunStatus::kRunning;
      } catch (const std::exception&) {
      }
    }
    const int delay_ms = 40 * attempt;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (kill(pid, SIGKILL) == 0) ++kills;
    const int code = wait_exit(pid);
    if (code == 0) break;  // finished before the kill
    if (std::filesystem::exists(study)) {
      EXPECT_NO_THROW(results::StudyReader::open(study)) << "after a kill " << delay_ms << " ms into a run";
      history += fmt::format("killed {} ms after a run started:", delay_ms);
      for (const auto& info : results::StudyReader::open(study).runs())
        history += " " + std::string(results::to_string(info.status));
      history += "\n";
      if (h5py) {
        const auto py = run_command("/usr/bin/python3 -c 'import h5py,sys; f=h5py.File(sys.argv[1],\"r\"); "
                                    "print(len(f[\"runs\"]))' " +
                                    study);
        EXPECT_EQ(py.code, 0) << "h5py cannot open the file after a kill:\n" << py.output;
      }
    }
  }
  EXPECT_GE(kills, 3) << "the study should have been killed several times";
  const auto last = run_statetune(fmt::format("sweep {} --out {} --resume --state-in-study", sweep, study));
  ASSERT_EQ(last.code, 0) << last.output;
  const auto a = read_study(reference), b = read_study(study);
  ASSERT_EQ(b.size(), 6u);
  expect_same_results(a, b, 0.0, 0.0, true);  // bit for bit: resume is exact
  int64_t resumed_mid_run = 0;
  for (const auto& info : results::StudyReader::open(study).runs()) resumed_mid_run += info.attempts >= 2;
  EXPECT_GE(resumed_mid_run, 1) << "no run was killed while running: the test did not test resume\n" << history;
}

TEST_F(SweepCli, SigtermMarksTheRunInterruptedAndExitsPromptly) {
  const std::string sweep = write_sweep("term", 400);
  const std::string study = dir_ + "/term.h5";
  const pid_t pid = start_statetune(fmt::format("sweep {} --out {}", sweep, study), dir_ + "/term.log");
  // Wait until the first run is training (its checkpoint folder appears with the first save).
  bool running = false;
  for (int i = 0; i < 200 && !running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string checkpoints = dir_ + "/term_ckpt";
    running = std::filesystem::exists(checkpoints) && !std::filesystem::is_empty(checkpoints);
  }
  ASSERT_TRUE(running) << "the study did not start";
  const auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  const int code = wait_exit(pid);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::ifstream log(dir_ + "/term.log");
  const std::string output((std::istreambuf_iterator<char>(log)), {});
  EXPECT_EQ(code, 3) << output;
  EXPECT_LT(seconds, 20.0) << "it should stop after the step in progress";
  const auto reader = results::StudyReader::open(study);
  size_t interrupted = 0, done = 0;
  for (const auto& info : reader.runs()) {
    interrupted += info.status == results::RunStatus::kInterrupted;
    done += info.status == results::RunStatus::kDone;
    EXPECT_NE(info.status, results::RunStatus::kRunning) << info.description.hash;
  }
  EXPECT_EQ(interrupted, 1u) << output;
  EXPECT_EQ(done, 0u) << output;
  EXPECT_NE(output.find("stopping: signal 15"), std::string::npos) << output;
}

// The shipped smoke study, as its header says to run it, then its report.
TEST_F(SweepCli, TheSmokeExampleRunsAndReports) {
  const std::string smoke = std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/sweeps/examples/smoke.yaml";
  const std::string study = dir_ + "/smoke.h5";
  const auto r = run_statetune(fmt::format("sweep {0} --out {1} model={2}/m.pth vocab={2}/vocab.txt "
                                           "data.train={2}/train.jsonl data.eval={2}/train.jsonl output={2}/smoke/{{hash}}.pth",
                                           smoke, study, dir_));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("0 failed, 0 interrupted, 0 not started"), std::string::npos) << r.output;
  size_t done = 0;
  for (const auto& info : results::StudyReader::open(study).runs()) done += info.status == results::RunStatus::kDone;
  EXPECT_EQ(done, results::StudyReader::open(study).runs().size());
  EXPECT_GE(done, 3u);
  const auto report = run_statetune("report " + study);
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_NE(report.output.find("eval_loss"), std::string::npos) << report.output;
}

TEST_F(SweepCli, RefusesAnExistingStudyWithoutResumeAndAnotherSweepWithResume) {
  const std::string sweep = write_sweep("refuse", 2);
  const std::string study = dir_ + "/refuse.h5";
  ASSERT_EQ(run_statetune(fmt::format("sweep {} --out {}", sweep, study)).code, 0);
  const auto again = run_statetune(fmt::format("sweep {} --out {}", sweep, study));
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.output.find("--resume continues"), std::string::npos) << again.output;
  const auto resumed = run_statetune(fmt::format("sweep {} --out {} --resume", sweep, study));
  EXPECT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("to run: 0; already done: 6"), std::string::npos) << resumed.output;
  const auto other = run_statetune(fmt::format("sweep {} --out {} --resume lr=0.2", sweep, study));
  EXPECT_EQ(other.code, 1) << other.output;
}

// A run that fails at load (here: a missing vocabulary) leaves no empty output or checkpoint
// folders behind; the same sweep with the vocabulary creates them as it writes.
TEST_F(SweepCli, ARunThatFailsAtLoadLeavesNoFoldersBehind) {
  const std::string sweep = dir_ + "/noload.yaml";
  std::ofstream(sweep) << "base:\n  model: m.pth\n  vocab: missing_vocab.txt\n  output: noload/out/{hash}.pth\n"
                       << "  steps: 2\n  batch: 3\n  lr: 0.1\n"
                       << "  data:\n    benchmark: jsonl\n    train: train.jsonl\n"
                       << "grid:\n  seed: [0, 1]\n";
  const auto failed = run_statetune(fmt::format("sweep {} --out {}/noload.h5", sweep, dir_));
  EXPECT_EQ(failed.code, 1) << failed.output;
  EXPECT_NE(failed.output.find("0 done, 2 failed"), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("missing_vocab.txt"), std::string::npos) << failed.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/noload")) << "output folder left behind";
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/noload.h5.checkpoints")) << "checkpoint folder left behind";
  const auto explicit_checkpoint = run_statetune(
      fmt::format("sweep {0} --out {1}/noload_ckpt.h5 checkpoint={1}/noload_ckpt/{{hash}}.pth", sweep, dir_));
  EXPECT_EQ(explicit_checkpoint.code, 1) << explicit_checkpoint.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/noload_ckpt")) << "checkpoint folder left behind";
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/noload")) << "output folder left behind";

  const auto ok = run_statetune(fmt::format("sweep {0} --out {1}/noload_ok.h5 vocab={1}/vocab.txt", sweep, dir_));
  ASSERT_EQ(ok.code, 0) << ok.output;
  size_t states = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_ + "/noload/out")) states += f.path().extension() == ".pth";
  EXPECT_EQ(states, 2u);
  EXPECT_TRUE(std::filesystem::is_directory(dir_ + "/noload_ok.h5.checkpoints"));
}

}  // namespace

namespace {

// The baseline ("before") evaluation is computed once and reused by the runs that share it:
// two standard runs from the zero state differ only in seed and learning rate. The reused
// figures are bit-identical to a study that computes them for that run alone.
TEST_F(SweepCli, RunsThatShareABaselineComputeItOnce) {
  auto sweep_with = [&](const std::string& name, const std::string& seeds) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "base:\n  model: m.pth\n  vocab: vocab.txt\n  steps: 2\n  batch: 3\n  lr: 0.1\n"
                        << "  data:\n    benchmark: jsonl\n    train: train.jsonl\n    eval: train.jsonl\n"
                        << "grid:\n  seed: [" << seeds << "]\n";
    return path;
  };
  const auto both = run_statetune(fmt::format("sweep {} --out {}/shared.h5", sweep_with("shared", "0, 1"), dir_));
  ASSERT_EQ(both.code, 0) << both.output;
  EXPECT_NE(both.output.find(": reused)"), std::string::npos) << both.output;
  const auto alone = run_statetune(fmt::format("sweep {} --out {}/alone.h5", sweep_with("alone", "1"), dir_));
  ASSERT_EQ(alone.code, 0) << alone.output;
  EXPECT_EQ(alone.output.find(": reused)"), std::string::npos) << alone.output;

  const auto shared = results::StudyReader::open(dir_ + "/shared.h5");
  const auto single = results::StudyReader::open(dir_ + "/alone.h5");
  ASSERT_EQ(single.hashes().size(), 1u);
  const std::string hash = single.hashes()[0];
  ASSERT_TRUE(shared.has_run(hash));
  EXPECT_EQ(shared.run(hash).baseline, single.run(hash).baseline);
  const auto a = shared.eval_summary(hash), b = single.eval_summary(hash);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].before, b[i].before) << a[i].name;  // bit for bit
  std::set<std::string> baselines;
  for (const auto& info : shared.runs()) baselines.insert(info.baseline);
  EXPECT_EQ(baselines.size(), 1u);

  // Across a resume: the first half of a study, then the rest; the rest reuses the first's.
  const std::string halves = sweep_with("halves", "0, 1");
  const auto first = run_statetune(fmt::format("sweep {} --out {}/halves.h5 --shard 0/2", halves, dir_));
  ASSERT_EQ(first.code, 0) << first.output;
  const auto rest = run_statetune(fmt::format("sweep {} --out {}/halves.h5 --resume", halves, dir_));
  ASSERT_EQ(rest.code, 0) << rest.output;
  EXPECT_NE(rest.output.find(": reused)"), std::string::npos) << rest.output;
  const auto resumed = results::StudyReader::open(dir_ + "/halves.h5");
  EXPECT_EQ(resumed.eval_summary(hash).at(0).before, b.at(0).before);

  const auto report = run_statetune(fmt::format("report {}/shared.h5", dir_));
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_NE(report.output.find("baselines: 2 done runs used 1 'before' evaluation(s)"), std::string::npos)
      << report.output;
}

}  // namespace
