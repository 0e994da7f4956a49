#pragma once
// Per-item evaluation records and their aggregation, as lm-eval computes its metrics:
// acc = argmax of the summed log-likelihoods, acc_norm = argmax of loglik / norm_length (ties
// go to the first choice, as numpy's argmax does); GSM8K exact match under both filters.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "statetune/data/requests.h"

namespace statetune::data {

struct McRecord {
  std::string id;
  std::string subject;
  std::vector<double> loglik;  // per choice: Σ log p(continuation tokens | context)
  std::vector<double> norm_lengths;
  int pred = 0;       // argmax loglik
  int pred_norm = 0;  // argmax loglik / norm_lengths
  int gold = 0;
  bool correct = false;
  bool correct_norm = false;
};

// Fills the record from a request and its choices' log-likelihoods.
McRecord decide_mc(const McRequest& request, std::vector<double> loglik);

struct GenRecord {
  std::string id;
  std::string completion;  // generated text, cut before the first stop sequence
  std::string strict;      // strict-match extraction ("[invalid]" if none)
  std::string flexible;    // flexible-extract extraction
  std::string gold;
  bool strict_correct = false;
  bool flexible_correct = false;
  int64_t generated_tokens = 0;
};

GenRecord decide_gen(const GenRequest& request, const std::string& completion, int64_t generated_tokens);

struct Accuracy {
  size_t count = 0;
  size_t correct = 0;       // acc (MC) or strict-match (GSM8K)
  size_t correct_norm = 0;  // acc_norm (MC) or flexible-extract (GSM8K)
  double rate() const { return count ? static_cast<double>(correct) / static_cast<double>(count) : 0.0; }
  double rate_norm() const { return count ? static_cast<double>(correct_norm) / static_cast<double>(count) : 0.0; }
};

// Micro accuracy over all items, and per subject (MMLU; items without one are only counted
// overall).
struct McSummary {
  Accuracy overall;
  std::map<std::string, Accuracy> by_subject;
};
McSummary summarise(const std::vector<McRecord>& records);
Accuracy summarise(const std::vector<GenRecord>& records);

// One JSON object per item, for --json output (JSON lines).
nlohmann::json to_json(const McRecord& record);
nlohmann::json to_json(const GenRecord& record);

}  // namespace statetune::data
