#pragma once
// Losses of state tuning over a padded batch. Positions with mask false (padding, prompt
// tokens that are not targets) contribute nothing; the mean is over target positions.
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

namespace statetune::workers {

// logits [B, T, V], targets [B, T] int64, mask [B, T] bool: mean next-token cross-entropy.
at::Tensor masked_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& mask);

// KL(teacher ‖ student) per position, summed over the vocabulary, mean over mask positions.
// teacher_logprobs [B, T, V] are constants (no grad).
at::Tensor masked_kl(const at::Tensor& student_logits, const at::Tensor& teacher_logprobs, const at::Tensor& mask);

// KL(guide ‖ student) where the guide gives only its top-k per position (a trace file's
// log-probs): the distributions are compared on {the listed ids, the rest}, the guide's rest
// being 1 − Σ listed and the student's 1 − Σ its probabilities of those ids. topk_ids [B, T, K]
// int64, topk_probs [B, T, K] float64 (unused slots: probability 0), mean over mask positions.
at::Tensor masked_topk_kl(const at::Tensor& student_logits, const at::Tensor& topk_ids, const at::Tensor& topk_probs,
                          const at::Tensor& mask);

// A training example: tokens, and which of them are targets (predicted from the ones before).
struct TuneExample {
  std::vector<int64_t> tokens;
  std::vector<uint8_t> is_target;  // same length as tokens; is_target[0] is ignored
  // Optional, a guide's top-k (id, log-prob) for predicting tokens[t], for each t (entry 0
  // unused). Set: the loss on this example is masked_topk_kl instead of cross-entropy.
  std::vector<std::vector<std::pair<int64_t, double>>> guide_top_k = {};
};

// context (starting with token 0, end-of-text, as every prompt does) followed by target
// (at least one token), the loss on the target only, cut to at most max_tokens tokens: the
// target keeps what fits after token 0 (all of it when it fits), the context loses tokens
// from its front, token 0 stays first.
TuneExample target_example(const std::vector<int64_t>& context, std::vector<int64_t> target, int64_t max_tokens);

// A right-padded batch: inputs = tokens[:-1], targets = tokens[1:], mask = is_target[1:].
// No cross-talk: each row is its own sequence, and every row starts from the tuned state.
struct TuneBatch {
  at::Tensor inputs;   // [B, T] int64 (padding: 0)
  at::Tensor lengths;  // [B] int64
  at::Tensor targets;  // [B, T] int64
  at::Tensor mask;     // [B, T] bool
  at::Tensor topk_ids, topk_probs;  // [B, T, K] when the examples carry guide_top_k, else undefined
};
// Built on the host (CPU tensors).
TuneBatch make_batch(const std::vector<TuneExample>& examples);
// The same batch on `device` (to_device of every tensor; the host batch itself on the CPU).
TuneBatch batch_on_device(const TuneBatch& host, const at::Device& device);

}  // namespace statetune::workers
