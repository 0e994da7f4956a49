#pragma once
// SIGTERM, SIGUSR1 (Slurm's warning before a time limit) and SIGINT ask a long command to stop
// after the step in progress: checkpoints are written, unfinished runs are marked
// interrupted. While a StopSignals object lives, those signals only set a flag.
namespace statetune::orchestrator {

class StopSignals {
 public:
  StopSignals();   // installs the handlers and clears the flag
  ~StopSignals();  // restores the previous handlers
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The signal received since installation (the first one), or 0.
  static int received();
  // Test/coordination hook: behave as if `sig` had been received.
  static void raise_flag(int sig);
};

}  // namespace statetune::orchestrator
