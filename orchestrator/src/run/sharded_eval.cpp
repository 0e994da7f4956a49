#include "run/sharded_eval.h"

#include <nlohmann/json.hpp>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"

namespace statetune::orchestrator {
namespace {

// Each rank's share as JSON: {"i": [item indices], "out": [loglik lists | [completion, tokens]]}.
std::vector<nlohmann::json> gather_shares(workers::Communicator& group, const nlohmann::json& mine) {
  std::vector<nlohmann::json> all;
  for (const std::string& s : group.all_gather(mine.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)))
    all.push_back(nlohmann::json::parse(s));
  return all;
}

}  // namespace

nlohmann::json raw_outcome(const workers::Evaluator& evaluator, const data::RenderedBenchmark& b, size_t i) {
  if (!b.mc.empty()) return evaluator.score(b.mc[i]).loglik;
  const data::GenRecord r = evaluator.generate(b.gen[i]);
  return {r.completion, r.generated_tokens};
}

results::EvalItem decide_item(const data::RenderedBenchmark& b, size_t i, const nlohmann::json& raw,
                              const std::string& phase, data::McRecord* mc, data::GenRecord* gen) {
  if (!b.mc.empty()) {
    const data::McRecord r = data::decide_mc(b.mc.at(i), raw.get<std::vector<double>>());
    if (mc) *mc = r;
    return {phase, r.id, std::to_string(r.pred), std::to_string(r.gold), r.correct, r.loglik};
  }
  const data::GenRecord r = data::decide_gen(b.gen.at(i), raw[0].get<std::string>(), raw[1].get<int64_t>());
  if (gen) *gen = r;
  return {phase, r.id, r.strict, r.gold, r.strict_correct, {}};
}

PhaseEval evaluate_benchmark(const workers::Rwkv7Model& model, const data::Tokenizer& tokenizer,
                             const workers::ModelState& initial, const data::RenderedBenchmark& b,
                             workers::Communicator& group, const std::string& phase) {
  at::NoGradGuard no_grad;
  const workers::Evaluator evaluator(model, tokenizer, &initial);
  const size_t rank = static_cast<size_t>(group.rank()), ranks = static_cast<size_t>(group.size());
  nlohmann::json mine{{"i", nlohmann::json::array()}, {"out", nlohmann::json::array()}};
  for (size_t i = rank; i < b.size(); i += ranks) {
    mine["i"].push_back(i);
    mine["out"].push_back(raw_outcome(evaluator, b, i));
  }
  std::vector<data::McRecord> mc(b.mc.size());
  std::vector<data::GenRecord> gen(b.gen.size());
  std::vector<results::EvalItem> items(b.size());
  size_t seen = 0;
  for (const nlohmann::json& share : gather_shares(group, mine)) {
    for (size_t k = 0; k < share["i"].size(); ++k, ++seen) {
      const auto i = share["i"][k].get<size_t>();
      items.at(i) = decide_item(b, i, share["out"][k], phase, b.mc.empty() ? nullptr : &mc[i],
                                b.gen.empty() ? nullptr : &gen[i]);
    }
  }
  ST_CHECK(seen == b.size(), "sharded evaluation: gathered {} of {} items", seen, b.size());

  PhaseEval out;
  out.items = std::move(items);
  if (!b.mc.empty()) {
    const data::McSummary s = data::summarise(mc);
    out.metrics.emplace_back("acc", s.overall.rate());
    // As lm-eval reports them: acc_norm for ARC (MMLU's one-letter choices make it equal acc;
    // WinoGrande normalises by the context and does not report it).
    if (b.benchmark == data::Benchmark::arc_challenge) out.metrics.emplace_back("acc_norm", s.overall.rate_norm());
    for (const auto& [subject, a] : s.by_subject) out.metrics.emplace_back("mmlu/acc/" + subject, a.rate());
  } else {
    const data::Accuracy a = data::summarise(gen);
    out.metrics.emplace_back("exact_match_strict", a.rate());
    out.metrics.emplace_back("exact_match_flexible", a.rate_norm());
  }
  return out;
}

}  // namespace statetune::orchestrator
