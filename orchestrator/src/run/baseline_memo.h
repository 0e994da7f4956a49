#pragma once
// The baseline ("before tuning") evaluation, computed once. It depends only on the frozen model
// and where it computes, the evaluation data as rendered, the evaluation settings and the start
// state, so every run of a study that shares those gets the same figures (on MMLU: 14k items).
// A run keys its baseline on exactly those and asks this process's memo first; a sweep seeds
// the memo from the study's done runs when it resumes (rank 0 reads them, every rank receives
// them), so a baseline is computed at most once per rank group and never again after a resume.
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "run/sharded_eval.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/run_setup.h"
#include "statetune/sweeps/run_spec.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

// 16 hex digits over: the model file (path, size, mtime), the device kind and weights dtype,
// the vocabulary file, every evaluated request's text (or the eval examples' tokens), the
// settings that change the figures (max_tokens, batch, threads, the group's size) and the
// bytes of every tensor of the start state.
std::string baseline_key(const sweeps::RunSpec& spec, const Placement& placement, const RunExamples& examples,
                         const workers::ModelState& start, int group_size);

class BaselineMemo {
 public:
  static BaselineMemo& process();

  struct Entry {
    PhaseEval eval;
    std::string first_run;  // the run that computed it
  };
  std::optional<Entry> find(const std::string& key) const;
  void remember(const std::string& key, const PhaseEval& eval, const std::string& run);

  // The memo as JSON (what rank 0 sends every rank) and back.
  static nlohmann::json to_json(const std::map<std::string, Entry>& entries);
  void seed(const nlohmann::json& entries);

  // The baselines of a study's done runs, one run's figures per key (what a resumed sweep
  // seeds every rank's memo with).
  static std::map<std::string, Entry> in_study(const std::string& path);

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace statetune::orchestrator
