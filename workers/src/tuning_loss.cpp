#include "statetune/workers/tuning_loss.h"

#include <algorithm>

#include "statetune/common/error.h"

namespace statetune::workers {

at::Tensor masked_cross_entropy(const at::Tensor& logits, const at::Tensor& targets, const at::Tensor& mask) {
  const at::Tensor logp = at::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  const at::Tensor m = mask.to(logp.scalar_type());
  return -(logp * m).sum() / m.sum().clamp_min(1);
}

at::Tensor masked_kl(const at::Tensor& student_logits, const at::Tensor& teacher_logprobs, const at::Tensor& mask) {
  const at::Tensor student = at::log_softmax(student_logits, -1);
  const at::Tensor kl = (teacher_logprobs.exp() * (teacher_logprobs - student)).sum(-1);
  const at::Tensor m = mask.to(kl.scalar_type());
  return (kl * m).sum() / m.sum().clamp_min(1);
}

TuneBatch make_batch(const std::vector<TuneExample>& examples) {
  ST_CHECK(!examples.empty(), "make_batch: no examples");
  const int64_t B = static_cast<int64_t>(examples.size());
  int64_t T = 0;
  for (const auto& e : examples) {
    ST_CHECK(e.tokens.size() >= 2, "a training example needs at least 2 tokens, got {}", e.tokens.size());
    ST_CHECK(e.is_target.size() == e.tokens.size(), "example has {} tokens but {} target flags", e.tokens.size(),
             e.is_target.size());
    T = std::max<int64_t>(T, static_cast<int64_t>(e.tokens.size()) - 1);
  }
  TuneBatch b;
  b.inputs = at::zeros({B, T}, at::kLong);
  b.targets = at::zeros({B, T}, at::kLong);
  b.mask = at::zeros({B, T}, at::kBool);
  b.lengths = at::zeros({B}, at::kLong);
  auto in = b.inputs.accessor<int64_t, 2>();
  auto tg = b.targets.accessor<int64_t, 2>();
  auto mk = b.mask.accessor<bool, 2>();
  for (int64_t i = 0; i < B; ++i) {
    const auto& e = examples[i];
    const int64_t n = static_cast<int64_t>(e.tokens.size()) - 1;
    b.lengths[i] = n;
    for (int64_t t = 0; t < n; ++t) {
      in[i][t] = e.tokens[t];
      tg[i][t] = e.tokens[t + 1];
      mk[i][t] = e.is_target[t + 1] != 0;
    }
  }
  return b;
}

}  // namespace statetune::workers
