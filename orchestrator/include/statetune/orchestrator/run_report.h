#pragma once
// What one run is given and what it gives back: RunControl (where it computes, callbacks,
// resume) and RunReport (status, curves, metrics, items, the tuned state, times). Shared by the
// run's executors (run_executor.h, the tts run) and their callers (`tune`, the sweep's
// coordinator and messages), so that neither side depends on the other's code.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "statetune/orchestrator/placement.h"
#include "statetune/results/records.h"
#include "statetune/workers/state_trainer.h"

namespace statetune::orchestrator {

struct RunControl {
  // Where the run computes (resolved from spec.device/weights_dtype by the caller, who picks
  // the group's communicator by it).
  Placement placement;
  bool resume = false;  // continue from the run's checkpoint file when it exists
  // Called on every rank after each step with the group's metrics.
  std::function<void(const workers::StepMetrics&)> on_step;
  // Polled once per step on every rank; true on any rank stops the group after that step
  // (the checkpoint is written, the report says kInterrupted).
  std::function<bool()> stop_requested;
  // Progress lines ("data: 12 training examples", "before tuning: acc 0.25", ...).
  std::function<void(const std::string&)> note;
  // Called on every rank once the run has loaded (model, data, guide, checkpoint) and before
  // it writes anything: `sweep` creates the run's output and checkpoint folders here, so a
  // run that fails to load leaves none behind. Not called by method tts (it writes no files).
  std::function<void()> prepare_outputs;
  // Whether RunReport::state carries the tuned state of a run that also writes it to its
  // `output` file (a run without `output` always reports it: it is stored nowhere else).
  bool state_in_report = false;
};

// Where a run's time went on this rank, in seconds. The phases follow one another; what is
// left of RunReport::seconds (checks, gathering the report) is in none of them.
struct RunTimes {
  double load = 0;         // tokenizer, model, data, guide, start states: read, or found in the process's cache
  double guide_text = 0;   // the guide writing its text after each training question (guide_generate_tokens)
  double calibration = 0;  // the tuner's set-up: the kernel read-out's calibration (kernel, dbp), init: prompt
  double eval_before = 0;
  double steps = 0;        // tuning, its checkpoints included
  double save = 0;         // the tuned state file and the report's copy of the state
  double eval_after = 0;
  double questions = 0;    // method tts: adapting to, answering and scoring each question
};

struct RunReport {
  results::RunStatus status = results::RunStatus::kDone;  // done, diverged or interrupted
  std::string message;                  // why it diverged / was interrupted
  std::vector<results::StepRecord> steps;  // the whole curve from step 0 (resumed steps included)
  std::vector<results::EvalMetric> summary;  // before and after tuning
  std::vector<results::EvalItem> items;      // per evaluated item, phase "before" / "after"
  std::string state_path;               // the tuned state file written ("" unless done with `output`)
  // The tuned state (state-file keys, float32) when it is to be stored in the study: a run
  // without `output`, or RunControl::state_in_report.
  std::vector<results::StateTensor> state;
  // The baseline ("before") evaluation's key (baseline_memo.h; "" without an eval split), and
  // whether it came from an earlier run's instead of being computed here.
  std::string baseline;
  bool baseline_reused = false;
  int64_t resumed_from = -1;            // the step a resumed run continued at, else -1
  double seconds = 0;
  RunTimes times;
};

// The per-step record stored in a study file.
results::StepRecord step_record(const workers::StepMetrics& m);

}  // namespace statetune::orchestrator
