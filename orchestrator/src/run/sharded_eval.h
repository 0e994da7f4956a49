#pragma once
// A benchmark evaluation shared out over a rank group: rank r scores items r, r + P, ...; the
// raw outputs (log-likelihoods, completions) are gathered and every rank decides and
// summarises all items, so the metrics equal those of one process.
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "statetune/data/benchmark.h"
#include "statetune/data/tokenizer.h"
#include "statetune/data/eval_records.h"
#include "statetune/results/records.h"
#include "statetune/workers/communicator.h"
#include "statetune/workers/evaluator.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

struct PhaseEval {
  std::vector<std::pair<std::string, double>> metrics;  // "acc", "acc_norm", "mmlu/acc/<subject>", ...
  std::vector<results::EvalItem> items;                 // phase set by the caller's `phase`
};

// One item's raw outcome, as JSON so that ranks can gather it: multiple choice, the choices'
// log-likelihoods; generation, [completion, generated tokens].
nlohmann::json raw_outcome(const workers::Evaluator& evaluator, const data::RenderedBenchmark& b, size_t i);

// Item i decided from its raw outcome by the benchmark's rules; the record also goes to *mc
// or *gen when given (for the summaries).
results::EvalItem decide_item(const data::RenderedBenchmark& b, size_t i, const nlohmann::json& raw,
                              const std::string& phase, data::McRecord* mc = nullptr, data::GenRecord* gen = nullptr);

PhaseEval evaluate_benchmark(const workers::Rwkv7Model& model, const data::Tokenizer& tokenizer,
                             const workers::ModelState& initial, const data::RenderedBenchmark& benchmark,
                             workers::Communicator& group, const std::string& phase);

}  // namespace statetune::orchestrator
