#pragma once
// The `reinforce` pieces of test-time scaling (METHOD.md §4): the student samples
// continuations of a question, an RWKV guide rewards every sampled token by its own
// log-probability of it (single-step alignment), and REINFORCE with a mean baseline turns
// the rewards into a loss on the student's state.
//
// Samples have a fixed length: token 0 (end-of-text) is sampled and rewarded like any other
// token and does not end a sample, so every step sees the same number of tokens.
#include <cstdint>
#include <random>
#include <vector>

#include "statetune/workers/rwkv7_model.h"

namespace statetune::workers {

// `count` continuations of `length` tokens each: the student reads `question` from `state`
// (unbatched tensors; empty = zeros), then samples all continuations side by side in step
// mode from softmax(logits / temperature) over the whole vocabulary (no nucleus cut: this
// is the policy reinforce_loss differentiates). Draws from rng position by position, sample
// by sample, so a seed fixes the result. No gradient.
std::vector<std::vector<int64_t>> sample_continuations(const Rwkv7Model& student, const ModelState& state,
                                                       const std::vector<int64_t>& question, int64_t count,
                                                       int64_t length, double temperature, std::mt19937_64& rng);

// The guide's reward of every sampled token, [S, T] float64:
// r[s][t] = log p_guide(samples[s][t] | question, samples[s][<t]), the guide reading the
// question from guide_state (unbatched tensors, e.g. its state after guide_prefix; empty =
// zeros). All samples have the same length T >= 1. No gradient.
at::Tensor guide_token_rewards(const Rwkv7Model& guide, const ModelState& guide_state,
                               const std::vector<int64_t>& question, const std::vector<std::vector<int64_t>>& samples);

// REINFORCE with a per-position mean baseline, mean over the S·T sampled tokens:
//   loss = −1/(S·T) Σ_{s,t} (r[s][t] − b_t) · log π(samples[s][t] | question, samples[s][<t]),
//   b_t  = 1/S Σ_s r[s][t],
// π = softmax(logits / temperature) of the student read from `state` (the sampling policy).
// The baseline is per position because the guide's log-probs shift with the position in the
// text; including the sample in its own baseline scales the expected gradient by (S−1)/S,
// which Adam does not see. Differentiable w.r.t. the state's tensors; S >= 2.
at::Tensor reinforce_loss(const Rwkv7Model& student, const ModelState& state, const std::vector<int64_t>& question,
                          const std::vector<std::vector<int64_t>>& samples, const at::Tensor& rewards,
                          double temperature);

}  // namespace statetune::workers
