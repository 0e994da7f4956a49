#pragma once
// Scoring and generation on top of the model: the log-probability of each token given the
// ones before it, and RNN-style sampling (temperature, nucleus) for generation.
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "statetune/workers/rwkv7_model.h"

namespace statetune::workers {

struct TokenScores {
  at::Tensor logits;            // [T, V] float32: row t holds the logits after token t
  std::vector<double> logprob;  // [T]: logprob[t] = log p(ids[t] | ids[<t]); logprob[0] is NaN
  double total_nll = 0;         // -Σ_{t>=1} logprob[t]
  int64_t scored = 0;           // T - 1
};

// One sequence-mode pass over ids (no grad). `initial` may be empty (zeros).
TokenScores score_tokens(const Rwkv7Model& model, const std::vector<int64_t>& ids, const ModelState& initial);

// logits: [V]. temperature 0 is greedy; otherwise softmax(logits / temperature) restricted to
// the smallest set of tokens whose mass reaches top_p. Deterministic for a given rng state.
int64_t sample_token(const at::Tensor& logits, double temperature, double top_p, std::mt19937_64& rng);

struct GenerationOptions {
  int max_tokens = 100;
  double temperature = 1.0;
  double top_p = 0.85;
  uint64_t seed = 0;
  int64_t stop_token = 0;  // end-of-text
};

// Reads the prompt in one sequence-mode pass from `initial` (empty = zeros), then samples in
// step mode until the stop token or max_tokens. on_token(id) is called for each new token.
std::vector<int64_t> generate(const Rwkv7Model& model, const std::vector<int64_t>& prompt, const ModelState& initial,
                              const GenerationOptions& options, const std::function<void(int64_t)>& on_token);

}  // namespace statetune::workers
