#pragma once
// Losses of state tuning over a padded batch. Positions with mask false (padding, prompt
// tokens that are not targets) contribute nothing; the mean is over target positions.
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace statetune::workers {

// logits [B, T, V], targets [B, T] int64, mask [B, T] bool: mean next-token cross-entropy.
at::Tensor masked_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& mask);

// KL(teacher ‖ student) per position, summed over the vocabulary, mean over mask positions.
// teacher_logprobs [B, T, V] are constants (no grad).
at::Tensor masked_kl(const at::Tensor& student_logits, const at::Tensor& teacher_logprobs, const at::Tensor& mask);

// A training example: tokens, and which of them are targets (predicted from the ones before).
struct TuneExample {
  std::vector<int64_t> tokens;
  std::vector<uint8_t> is_target;  // same length as tokens; is_target[0] is ignored
};

// A right-padded batch: inputs = tokens[:-1], targets = tokens[1:], mask = is_target[1:].
// No cross-talk: each row is its own sequence, and every row starts from the tuned state.
struct TuneBatch {
  at::Tensor inputs;   // [B, T] int64 (padding: 0)
  at::Tensor lengths;  // [B] int64
  at::Tensor targets;  // [B, T] int64
  at::Tensor mask;     // [B, T] bool
};
TuneBatch make_batch(const std::vector<TuneExample>& examples);

}  // namespace statetune::workers
