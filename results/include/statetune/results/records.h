#pragma once
// The plain values that go into and come out of a study file (layout: layout.h). No HDF5
// and no sweeps types here: runs are named by the hash string the sweeps module computes,
// and configs travel as text and key -> value strings.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "statetune/results/run_status.h"

namespace statetune::results {

inline constexpr double kMissing = std::numeric_limits<double>::quiet_NaN();

// Study-level identity, stored as root attributes when the file is created.
struct StudyInfo {
  std::string name;               // the sweep's name
  std::string sweep_yaml;         // the sweep file's text, as given
  std::string statetune_version;  // "0.1.0 (git abc1234)"
};

// What identifies a run and how it is configured; written by begin_run / declare_run.
struct RunDescription {
  std::string hash;            // the canonical hash (16 hex digits from sweeps); the group name
  std::string config_yaml;     // the resolved config as YAML (every key)
  std::string canonical_text;  // the canonical form the hash was computed from
  std::string method;          // "standard" | "kernel" | "dbp" | ...
  // The sweep axes of this run (key -> normalised value text): what `report` groups by.
  std::map<std::string, std::string> axes;
  // Optional: every config key flattened (dotted keys -> value text), for pandas pivots.
  std::map<std::string, std::string> config;
};

// Where one attempt of a run executes.
struct RunPlacement {
  std::int64_t ranks = 1;  // ranks in the group that runs it
  std::string host;        // empty: this machine's hostname
};

// One optimisation step. Values that a method does not produce (l_decor outside dbp) are
// kMissing (NaN).
struct StepRecord {
  std::int64_t step = 0;
  double loss = kMissing;
  double lr = kMissing;
  double grad_norm = kMissing;
  double l_decor = kMissing;
  double tokens_per_s = kMissing;
};

// One evaluation metric before and after tuning ("acc", "acc_norm", "mmlu/acc/anatomy", ...).
struct EvalMetric {
  std::string name;
  double before = kMissing;
  double after = kMissing;
};

// One evaluated item. `phase` is "before" or "after" tuning.
struct EvalItem {
  std::string phase;
  std::string id;
  std::string prediction;  // the chosen choice index as text, or the extracted answer
  std::string gold;
  bool correct = false;
  std::vector<double> choice_loglik;  // per choice; empty for generation tasks
};

// One tensor of a run's tuned state, stored in the study as /runs/<hash>/state/<name>.
struct StateTensor {
  std::string name;                 // "blocks.0.att.time_state"; dots are fine, '/' is refused
  std::vector<std::int64_t> shape;  // empty: a scalar (one value)
  std::vector<float> values;        // row-major; as many as the shape's product
};

// How a run ended; written by finish_run, status last.
struct RunOutcome {
  RunStatus status = RunStatus::kDone;
  std::vector<EvalMetric> summary;
  std::vector<EvalItem> items;
  std::string message;           // the error for failed/diverged/interrupted runs
  std::string tuned_state_path;  // where the tuned state was written ("" if none)
  std::vector<StateTensor> tuned_state;  // stored in the study (empty: none stored)
  // The key of the baseline ("before") evaluation the run used, shared by every run of the
  // study with the same one ("" without an eval split).
  std::string baseline;
};

// Everything stored about a run except its tables (read those with StudyReader).
struct RunInfo {
  RunDescription description;
  RunStatus status = RunStatus::kPending;
  std::int64_t attempts = 0;
  std::string started;   // ISO 8601 UTC, "" before the first attempt
  std::string finished;  // ISO 8601 UTC, "" until it ends
  double wall_seconds = kMissing;
  std::int64_t ranks = 0;
  std::string host;
  std::string message;
  std::string tuned_state_path;
  std::string baseline;  // RunOutcome::baseline ("" before the run ends, and in format 1 files)
};

// The root of a study file.
struct StudyHeader {
  std::int64_t format_version = 0;
  StudyInfo info;
  std::string created;  // ISO 8601 UTC
  std::string updated;
  std::map<std::string, std::string> attributes;  // free-form: slurm job ids, scripts, ...
};

}  // namespace statetune::results
