#include "statetune/workers/tuning_loss.h"

#include <cmath>

#include <algorithm>

#include "statetune/common/error.h"
#include "statetune/workers/host_device.h"

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

at::Tensor masked_topk_kl(const at::Tensor& student_logits, const at::Tensor& topk_ids, const at::Tensor& topk_probs,
                          const at::Tensor& mask) {
  const at::Tensor logq = at::log_softmax(student_logits.to(at::kDouble), -1);
  const at::Tensor listed_logq = logq.gather(-1, topk_ids);               // [B, T, K]
  const at::Tensor p = topk_probs;                                         // guide, listed
  const at::Tensor listed = (p * (p.clamp_min(1e-300).log() - listed_logq)).sum(-1);
  const at::Tensor p_rest = (1.0 - p.sum(-1)).clamp_min(0.0);
  // Unused slots carry probability 0 and may repeat id 0: count each listed id once in the
  // student's listed mass by weighting with (p > 0).
  const at::Tensor q_listed = (listed_logq.exp() * (p > 0).to(at::kDouble)).sum(-1);
  const at::Tensor q_rest = (1.0 - q_listed).clamp_min(1e-12);
  const at::Tensor rest = at::where(p_rest > 1e-12, p_rest * (p_rest.clamp_min(1e-300).log() - q_rest.log()),
                                    at::zeros_like(p_rest));
  const at::Tensor kl = listed + rest;
  const at::Tensor m = mask.to(kl.scalar_type());
  return ((kl * m).sum() / m.sum().clamp_min(1)).to(student_logits.scalar_type());
}

TuneExample target_example(const std::vector<int64_t>& context, std::vector<int64_t> target, int64_t max_tokens) {
  ST_CHECK(!context.empty() && context.front() == 0, "an example's context must start with token 0 (end-of-text)");
  ST_CHECK(!target.empty(), "an example's target is empty");
  const int64_t room = max_tokens - 1;  // token 0 comes first
  if (static_cast<int64_t>(target.size()) > room) target.resize(static_cast<size_t>(std::max<int64_t>(room, 1)));
  const int64_t keep = std::max<int64_t>(0, room - static_cast<int64_t>(target.size()));
  const auto from = context.end() - std::min<int64_t>(keep, static_cast<int64_t>(context.size()) - 1);
  TuneExample e{{0}, {0}};
  for (auto it = from; it != context.end(); ++it) e.tokens.push_back(*it), e.is_target.push_back(0);
  for (int64_t id : target) e.tokens.push_back(id), e.is_target.push_back(1);
  return e;
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
  int64_t K = 0;
  for (const auto& e : examples) {
    if (e.guide_top_k.empty()) continue;
    ST_CHECK(e.guide_top_k.size() == e.tokens.size(), "example has {} tokens but {} guide top-k lists", e.tokens.size(),
             e.guide_top_k.size());
    for (const auto& row : e.guide_top_k) K = std::max<int64_t>(K, static_cast<int64_t>(row.size()));
  }
  if (K > 0) {
    b.topk_ids = at::zeros({B, T, K}, at::kLong);
    b.topk_probs = at::zeros({B, T, K}, at::kDouble);
    auto ids = b.topk_ids.accessor<int64_t, 3>();
    auto probs = b.topk_probs.accessor<double, 3>();
    for (int64_t i = 0; i < B; ++i) {
      const auto& e = examples[i];
      ST_CHECK(!e.guide_top_k.empty(), "a batch mixes examples with and without guide top-k lists");
      for (int64_t t = 0; t + 1 < static_cast<int64_t>(e.tokens.size()); ++t) {
        const auto& row = e.guide_top_k[static_cast<size_t>(t + 1)];
        for (size_t k = 0; k < row.size(); ++k) {
          ids[i][t][static_cast<int64_t>(k)] = row[k].first;
          probs[i][t][static_cast<int64_t>(k)] = std::exp(row[k].second);
        }
      }
    }
  }
  return b;
}

TuneBatch batch_on_device(const TuneBatch& host, const at::Device& device) {
  TuneBatch b;
  b.inputs = to_device(host.inputs, device);
  b.lengths = to_device(host.lengths, device);
  b.targets = to_device(host.targets, device);
  b.mask = to_device(host.mask, device);
  b.topk_ids = to_device(host.topk_ids, device);
  b.topk_probs = to_device(host.topk_probs, device);
  return b;
}

}  // namespace statetune::workers
