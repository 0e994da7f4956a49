#include "statetune/data/eval_records.h"

#include "statetune/common/error.h"
#include "statetune/data/gsm8k_extract.h"

namespace statetune::data {

namespace {

// numpy.argmax: the first maximum.
int first_argmax(const std::vector<double>& values) {
  int best = 0;
  for (size_t i = 1; i < values.size(); ++i)
    if (values[i] > values[static_cast<size_t>(best)]) best = static_cast<int>(i);
  return best;
}

}  // namespace

McRecord decide_mc(const McRequest& request, std::vector<double> loglik) {
  ST_CHECK(loglik.size() == request.num_choices() && !loglik.empty(), "{}: {} log-likelihoods for {} choices",
           request.id, loglik.size(), request.num_choices());
  McRecord r;
  r.id = request.id;
  r.subject = request.subject;
  r.norm_lengths = request.norm_lengths;
  r.gold = request.gold;
  std::vector<double> normalised(loglik.size());
  for (size_t i = 0; i < loglik.size(); ++i) normalised[i] = loglik[i] / request.norm_lengths[i];
  r.loglik = std::move(loglik);
  r.pred = first_argmax(r.loglik);
  r.pred_norm = first_argmax(normalised);
  r.correct = r.pred == r.gold;
  r.correct_norm = r.pred_norm == r.gold;
  return r;
}

GenRecord decide_gen(const GenRequest& request, const std::string& completion, int64_t generated_tokens) {
  GenRecord r;
  r.id = request.id;
  r.completion = completion;
  r.gold = request.gold;
  r.strict = gsm8k_strict(completion);
  r.flexible = gsm8k_flexible(completion);
  r.strict_correct = gsm8k_match(r.strict, r.gold);
  r.flexible_correct = gsm8k_match(r.flexible, r.gold);
  r.generated_tokens = generated_tokens;
  return r;
}

McSummary summarise(const std::vector<McRecord>& records) {
  McSummary s;
  for (const McRecord& r : records) {
    for (Accuracy* a : {&s.overall, r.subject.empty() ? nullptr : &s.by_subject[r.subject]}) {
      if (a == nullptr) continue;
      ++a->count;
      a->correct += r.correct;
      a->correct_norm += r.correct_norm;
    }
  }
  return s;
}

Accuracy summarise(const std::vector<GenRecord>& records) {
  Accuracy a;
  for (const GenRecord& r : records) {
    ++a.count;
    a.correct += r.strict_correct;
    a.correct_norm += r.flexible_correct;
  }
  return a;
}

nlohmann::json to_json(const McRecord& r) {
  nlohmann::json j{{"id", r.id},     {"loglik", r.loglik}, {"pred", r.pred},         {"pred_norm", r.pred_norm},
                   {"gold", r.gold}, {"correct", r.correct}, {"correct_norm", r.correct_norm}};
  if (!r.subject.empty()) j["subject"] = r.subject;
  return j;
}

nlohmann::json to_json(const GenRecord& r) {
  return {{"id", r.id},
          {"completion", r.completion},
          {"strict", r.strict},
          {"flexible", r.flexible},
          {"gold", r.gold},
          {"strict_correct", r.strict_correct},
          {"flexible_correct", r.flexible_correct},
          {"generated_tokens", r.generated_tokens}};
}

}  // namespace statetune::data
