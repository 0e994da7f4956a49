#pragma once
// The study's progress on global rank 0: runs done / running / pending / failed and an ETA,
// refreshed in place on a terminal, one plain line per change otherwise (logs, Slurm).
#include <cstddef>
#include <string>

#include "statetune/common/timer.h"

namespace statetune::orchestrator {

class SweepProgress {
 public:
  SweepProgress(std::size_t total, int groups);
  void started();
  void finished(bool ok);
  void stopped_running(std::size_t count);  // runs interrupted by a stop
  // A line that goes above the status line (a run started or ended).
  void note(const std::string& text);
  void close();  // ends the in-place line

  std::size_t done() const { return done_; }
  std::size_t failed() const { return failed_; }

 private:
  std::string status_line() const;
  void redraw();

  std::size_t total_, done_ = 0, failed_ = 0, running_ = 0;
  int groups_;
  bool tty_;
  Timer timer_;
};

}  // namespace statetune::orchestrator
