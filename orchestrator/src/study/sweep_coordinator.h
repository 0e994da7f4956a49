#pragma once
// Global rank 0's side of a study: the only process that opens the results file. It deals
// runs to rank groups as they become free (its own group included), records every result,
// and spreads a stop (signal, --fail-fast) to the groups still running.
//
// Rank 0 also works: it is the leader of group 0. It answers the other groups between its
// own steps (poll() is called after every step), so a free group waits at most one of rank
// 0's steps (or its model loading/evaluation) for its next run.
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "statetune/orchestrator/run_executor.h"
#include "statetune/results/study_writer.h"
#include "statetune/sweeps/sweep.h"
#include "study/sweep_plan.h"
#include "study/sweep_progress.h"

namespace statetune::orchestrator {

struct CoordinatorOptions {
  int groups = 1;
  int ranks_per_run = 1;
  bool fail_fast = false;
};

class SweepCoordinator {
 public:
  SweepCoordinator(const sweeps::Sweep& sweep, results::StudyWriter& writer, const StudyPlan& plan,
                   const CoordinatorOptions& options);

  // The next run for rank 0's own group (marked running), or nothing: stop or no more work.
  std::optional<std::size_t> next_for_own_group(const std::string& host);
  // Records a result of any group (rank 0's own directly, the others' through poll()).
  void record(std::size_t index, const RunReport& report, const std::string& host);
  // Handles waiting messages from other groups; block: wait for at least one.
  void poll(bool block);
  // Waits until every other group has been told there is no more work.
  void wait_for_groups();
  // Stop dealing runs, ask running groups to stop after their step.
  void stop(const std::string& why);

  bool stopping() const { return stopping_; }
  std::size_t failed() const { return failed_; }
  std::size_t interrupted() const { return interrupted_; }
  std::size_t done() const { return done_; }
  std::size_t not_started() const { return queue_.size(); }
  // Rank 0's own cost of dealing and recording runs (HDF5 commits, messages), per run dealt.
  double overhead_ms_per_run() const {
    return dealt_ == 0 ? 0.0 : overhead_seconds_ * 1e3 / static_cast<double>(dealt_);
  }
  SweepProgress& progress() { return progress_; }

 private:
  std::optional<std::size_t> take(const std::string& host);
  void on_request(int from);
  void on_result(int from);

  const sweeps::Sweep& sweep_;
  results::StudyWriter& writer_;
  CoordinatorOptions options_;
  std::deque<std::size_t> queue_;
  std::map<int, std::size_t> running_;  // leader world rank -> run index (other groups)
  std::set<int> active_leaders_;          // other groups' leaders not yet told "no more work"
  bool stopping_ = false;
  std::size_t done_ = 0, failed_ = 0, interrupted_ = 0, dealt_ = 0;
  double overhead_seconds_ = 0;
  SweepProgress progress_;
};

}  // namespace statetune::orchestrator
