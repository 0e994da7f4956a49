// A study file left by a killed writer opens, shows unfinished runs as running, and never
// holds a `done` run without its data. The writer runs in a forked child that is killed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "expect_error.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

std::string run_hash(int i) { return fmt::format("{:016x}", 0xc0ffee00 + i); }

// Runs body in a child process that ends with _exit (no destructors, like a crash) or is
// killed by the parent. Returns the child's pid.
template <typename F>
pid_t in_child(F body) {
  const pid_t pid = fork();
  if (pid == 0) {
    try {
      body();
    } catch (...) {
      _exit(3);
    }
    _exit(0);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(ResultsCrashSafety, RunningRunSurvivesAProcessThatDies) {
  const std::string path = temp_dir("results_crash") + "/study.h5";
  const RunDescription a = demo_run(run_hash(0), "kernel", "0.01", "1");
  const pid_t child = in_child([&] {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.begin_run(a);
    for (int s = 0; s < 3; ++s) writer.append_step(a.hash, demo_step(s));
    raise(SIGKILL);  // dies with the run unfinished; no destructor runs
  });
  const int status = wait_for(child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  {
    auto reader = StudyReader::open(path);
    EXPECT_EQ(reader.run(a.hash).status, RunStatus::kRunning);
    EXPECT_EQ(reader.metrics(a.hash).size(), 3u);
    EXPECT_TRUE(reader.finished_hashes().empty());
  }
  {
    auto writer = StudyWriter::open(path, demo_study());
    EXPECT_EQ(writer.mark_interrupted_running(), (std::vector<std::string>{a.hash}));
  }
  auto reader = StudyReader::open(path);
  EXPECT_EQ(reader.run(a.hash).status, RunStatus::kInterrupted);
  EXPECT_EQ(reader.run(a.hash).message, "found running when the study resumed");
}

// SIGKILL at arbitrary moments, many of them inside a write: after each kill the file
// opens, and every done run has all its data. Each child resumes what the last one left.
TEST(ResultsCrashSafety, KillsAtAnyMomentLeaveAReadableFileAndResumeFinishes) {
  const std::string path = temp_dir("results_kills") + "/study.h5";
  const int kRuns = 6;
  auto work = [&] {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.mark_interrupted_running();
    std::set<std::string> done = StudyReader::open(path).finished_hashes();
    for (int i = 0; i < kRuns; ++i) {
      const RunDescription run = demo_run(run_hash(i), "standard", "0.01", std::to_string(i));
      if (done.count(run.hash) != 0) continue;
      writer.begin_run(run);
      for (int s = 0; s < 20; ++s) writer.append_step(run.hash, demo_step(s));
      writer.finish_run(run.hash, demo_outcome(0.25, 0.5));
    }
  };
  int kills = 0;
  for (int delay_ms : {1, 3, 7, 12, 20, 30}) {
    const pid_t child = in_child(work);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(child, SIGKILL);
    const int status = wait_for(child);
    if (WIFSIGNALED(status)) ++kills;
    if (!std::filesystem::exists(path)) continue;  // killed before the first commit
    auto reader = StudyReader::open(path);
    for (const auto& run : reader.runs()) {
      if (run.status != RunStatus::kDone) continue;
      EXPECT_EQ(reader.metrics(run.description.hash).size(), 20u) << "after a kill at " << delay_ms << " ms";
      EXPECT_EQ(reader.eval_summary(run.description.hash).size(), 2u);
      EXPECT_EQ(reader.items(run.description.hash).size(), 3u);
    }
  }
  EXPECT_GT(kills, 0);

  const int status = wait_for(in_child(work));  // the last resume runs to the end
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto reader = StudyReader::open(path);
  EXPECT_EQ(reader.finished_hashes().size(), static_cast<std::size_t>(kRuns));
  EXPECT_EQ(reader.hashes().size(), static_cast<std::size_t>(kRuns));
  // The temporaries of commits cut short by a kill were cleaned up by the next writer.
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(path).parent_path())) {
    EXPECT_TRUE(entry.path().filename() == "study.h5" || entry.path().filename() == "study.h5.runs") << entry.path();
  }
  for (const auto& entry : std::filesystem::directory_iterator(path + ".runs")) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
}

}  // namespace
