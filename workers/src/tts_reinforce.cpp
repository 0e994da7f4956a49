#include "statetune/workers/tts_reinforce.h"
#include <ATen/core/grad_mode.h>


#include "statetune/common/error.h"
#include "statetune/kernels/shape_str.h"
#include "statetune/workers/host_device.h"

namespace statetune::workers {
namespace {

// All samples have one length T >= 1; returns T.
int64_t common_length(const std::vector<std::vector<int64_t>>& samples, const char* who) {
  ST_CHECK(!samples.empty(), "{}: no samples", who);
  const size_t T = samples[0].size();
  ST_CHECK(T >= 1, "{}: the samples have no tokens", who);
  for (size_t s = 1; s < samples.size(); ++s) {
    ST_CHECK(samples[s].size() == T, "{}: sample {} has {} tokens, sample 0 has {}", who, s, samples[s].size(), T);
  }
  return static_cast<int64_t>(T);
}

// [S, Lq + T − 1]: each row is question ++ sample[:-1], the input that predicts the sample.
at::Tensor continuation_batch(const std::vector<int64_t>& question, const std::vector<std::vector<int64_t>>& samples) {
  const int64_t S = static_cast<int64_t>(samples.size()), Lq = static_cast<int64_t>(question.size());
  const int64_t T = static_cast<int64_t>(samples[0].size());
  at::Tensor out = at::empty({S, Lq + T - 1}, at::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (int64_t s = 0; s < S; ++s) {
    for (int64_t i = 0; i < Lq; ++i) a[s][i] = question[i];
    for (int64_t t = 0; t + 1 < T; ++t) a[s][Lq + t] = samples[s][t];
  }
  return out;
}

// [S, T] int64: the sampled tokens, the targets of the rows of continuation_batch.
at::Tensor sample_targets(const std::vector<std::vector<int64_t>>& samples) {
  const int64_t S = static_cast<int64_t>(samples.size()), T = static_cast<int64_t>(samples[0].size());
  at::Tensor out = at::empty({S, T}, at::kLong);
  auto a = out.accessor<int64_t, 2>();
  for (int64_t s = 0; s < S; ++s)
    for (int64_t t = 0; t < T; ++t) a[s][t] = samples[s][t];
  return out;
}

// One draw from the categorical distribution p[0..V) (non-negative, any total), by inverse
// CDF in index order: exact, no sorting, one uniform per draw.
int64_t sample_categorical(const double* p, int64_t V, std::mt19937_64& rng) {
  double total = 0;
  for (int64_t v = 0; v < V; ++v) total += p[v];
  const double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  double acc = 0;
  int64_t last = 0;
  for (int64_t v = 0; v < V; ++v) {
    if (p[v] <= 0) continue;
    acc += p[v];
    last = v;
    if (u < acc) return v;
  }
  return last;  // u within rounding of the total
}

}  // namespace

std::vector<std::vector<int64_t>> sample_continuations(const Rwkv7Model& student, const ModelState& state,
                                                       const std::vector<int64_t>& question, int64_t count,
                                                       int64_t length, double temperature, std::mt19937_64& rng) {
  ST_CHECK(!question.empty(), "tts sampling: the question has no tokens");
  ST_CHECK(count >= 1 && length >= 1, "tts sampling: need at least one sample of at least one token, got {} x {}",
           count, length);
  ST_CHECK(temperature > 0, "tts sampling: the temperature must be > 0 (a stochastic policy), got {}", temperature);
  at::NoGradGuard no_grad;
  const int64_t Lq = static_cast<int64_t>(question.size()), V = student.config().vocab_size;
  ModelState shared;
  at::Tensor logits = student.forward(at::tensor(question, at::kLong).unsqueeze(0), at::Tensor(),
                                      state.empty() ? nullptr : &state, &shared)[0][Lq - 1];
  // Every sample continues from the question's final state: [1, ...] -> shared [...].
  for (auto& layer : shared) {
    for (at::Tensor* t : {&layer.att_shift, &layer.wkv, &layer.ffn_shift, &layer.transport})
      if (t->defined()) *t = t->select(0, 0);
  }
  logits = logits.unsqueeze(0).expand({count, V});
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(count));
  std::vector<int64_t> last(static_cast<size_t>(count));
  for (int64_t t = 0; t < length; ++t) {
    if (t > 0) logits = student.step(at::tensor(last, at::kLong), shared);
    // The host draws the samples (one read per generated position).
    const at::Tensor probs = to_host(at::softmax(logits.to(at::kDouble) / temperature, -1)).contiguous();
    const double* p = probs.data_ptr<double>();
    for (int64_t s = 0; s < count; ++s) {
      last[s] = sample_categorical(p + s * V, V, rng);
      out[s].push_back(last[s]);
    }
  }
  return out;
}

at::Tensor guide_token_rewards(const Rwkv7Model& guide, const ModelState& guide_state,
                               const std::vector<int64_t>& question, const std::vector<std::vector<int64_t>>& samples) {
  ST_CHECK(!question.empty(), "tts rewards: the question has no tokens");
  const int64_t T = common_length(samples, "tts rewards"), Lq = static_cast<int64_t>(question.size());
  at::NoGradGuard no_grad;
  const at::Tensor logits = guide
                                .forward(continuation_batch(question, samples), at::Tensor(),
                                         guide_state.empty() ? nullptr : &guide_state)
                                .narrow(1, Lq - 1, T);
  const at::Tensor logp = at::log_softmax(logits.to(at::kDouble), -1);
  return logp.gather(2, to_device(sample_targets(samples), logp.device()).unsqueeze(-1)).squeeze(-1).contiguous();
}

at::Tensor reinforce_loss(const Rwkv7Model& student, const ModelState& state, const std::vector<int64_t>& question,
                          const std::vector<std::vector<int64_t>>& samples, const at::Tensor& rewards,
                          double temperature) {
  ST_CHECK(!question.empty(), "tts reinforce: the question has no tokens");
  const int64_t T = common_length(samples, "tts reinforce"), S = static_cast<int64_t>(samples.size());
  const int64_t Lq = static_cast<int64_t>(question.size());
  ST_CHECK(S >= 2, "tts reinforce: the mean baseline needs at least 2 samples, got {}", S);
  ST_CHECK(temperature > 0, "tts reinforce: the temperature must be > 0, got {}", temperature);
  ST_CHECK(rewards.defined() && rewards.sizes() == at::IntArrayRef({S, T}),
           "tts reinforce: rewards are {}, expected [samples, tokens] = [{}, {}]",
           rewards.defined() ? shape_str(rewards.sizes()) : "missing", S, T);
  const at::Tensor logits = student.forward(continuation_batch(question, samples), at::Tensor(),
                                            state.empty() ? nullptr : &state)
                                .narrow(1, Lq - 1, T);
  const at::Tensor logp = at::log_softmax(logits / temperature, -1)
                             .gather(2, to_device(sample_targets(samples), logits.device()).unsqueeze(-1))
                             .squeeze(-1);
  const at::Tensor r = rewards.detach().to(logp.scalar_type());
  const at::Tensor advantage = r - r.mean(0, /*keepdim=*/true);
  return -(advantage * logp).mean();
}

}  // namespace statetune::workers
