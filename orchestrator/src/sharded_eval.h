#pragma once
// A benchmark evaluation shared out over a rank group: rank r scores items r, r + P, ...; the
// raw outputs (log-likelihoods, completions) are gathered and every rank decides and
// summarises all items, so the metrics equal those of one process.
#include <string>
#include <utility>
#include <vector>

#include "statetune/data/benchmark.h"
#include "statetune/data/tokenizer.h"
#include "statetune/results/records.h"
#include "statetune/workers/communicator.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

struct PhaseEval {
  std::vector<std::pair<std::string, double>> metrics;  // "acc", "acc_norm", "mmlu/acc/<subject>", ...
  std::vector<results::EvalItem> items;                 // phase set by the caller's `phase`
};

PhaseEval evaluate_benchmark(const workers::Rwkv7Model& model, const data::Tokenizer& tokenizer,
                             const workers::ModelState& initial, const data::RenderedBenchmark& benchmark,
                             workers::Communicator& group, const std::string& phase);

}  // namespace statetune::orchestrator
