#pragma once
// Benchmark evaluation with the model, scored as lm-evaluation-harness scores it.
//
// Multiple choice: each choice is token 0, the context's tokens, then the continuation's
// tokens (context and continuation encoded separately; whitespace ending the context moves
// to the continuation, as lm-eval's _encode_pair does); its log-likelihood is the sum of the
// continuation tokens' log-probabilities. An item's choices run as one batch. With
// ContextSharing::shared the tokens every choice starts with (at least token 0 + the context
// for ARC/MMLU; the few-shot prefix and sentence start for WinoGrande) run once, and the
// choices' remainders run as a batch from that prefix's final state; ::unshared runs every
// full sequence (the reference, and the baseline the speed-up is measured against).
//
// Generation (GSM8K): greedy decoding after the prompt, until a stop sequence appears in the
// text, token 0, or the token limit.
//
// Every entry point takes an optional initial state (a tuned state; nullptr or empty = zeros).
#include <cstdint>
#include <vector>

#include "statetune/data/eval_records.h"
#include "statetune/data/requests.h"
#include "statetune/data/tokenizer.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::workers {

// One choice as the model sees it: the whole sequence and where the scored tokens start.
struct ChoiceTokens {
  std::vector<int64_t> tokens;  // [0, context..., continuation...]
  size_t target_begin = 0;      // index of the first continuation token, >= 1
};

enum class ContextSharing { shared, unshared };

// Per choice, Σ_{j >= target_begin} log p(tokens[j] | tokens[<j]), all choices in one batch.
// Both modes give the same numbers up to float rounding.
std::vector<double> choice_logliks(const Rwkv7Model& model, const std::vector<ChoiceTokens>& choices,
                                   const ModelState* initial, ContextSharing sharing);

struct EvaluatorOptions {
  ContextSharing sharing = ContextSharing::shared;
  int max_gen_tokens = 256;  // lm-eval's default max_gen_toks
};

class Evaluator {
 public:
  // Keeps references: model, tokenizer and initial state must outlive the evaluator.
  Evaluator(const Rwkv7Model& model, const data::Tokenizer& tokenizer, const ModelState* initial = nullptr,
            EvaluatorOptions options = {});

  std::vector<ChoiceTokens> tokenize(const data::McRequest& request) const;
  data::McRecord score(const data::McRequest& request) const;
  data::GenRecord generate(const data::GenRequest& request) const;

 private:
  const Rwkv7Model& model_;
  const data::Tokenizer& tokenizer_;
  const ModelState* initial_;
  EvaluatorOptions options_;
};

}  // namespace statetune::workers
