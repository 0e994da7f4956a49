#include "statetune/workers/generation.h"

#include <cmath>

#include "statetune/common/error.h"

namespace statetune::workers {

TokenScores score_tokens(const Rwkv7Model& model, const std::vector<int64_t>& ids, const ModelState& initial) {
  ST_CHECK(!ids.empty(), "score: no tokens to score");
  at::NoGradGuard no_grad;
  TokenScores s;
  s.logits = model.forward(at::tensor(ids, at::kLong).unsqueeze(0), at::Tensor(), initial.empty() ? nullptr : &initial)
                 .squeeze(0)
                 .to(at::kFloat)
                 .contiguous();
  at::Tensor logp = at::log_softmax(s.logits.to(at::kDouble), -1).contiguous();
  const int64_t T = static_cast<int64_t>(ids.size()), V = logp.size(1);
  const double* lp = logp.data_ptr<double>();
  s.logprob.assign(T, NAN);
  for (int64_t t = 1; t < T; ++t) {
    s.logprob[t] = lp[(t - 1) * V + ids[t]];
    s.total_nll -= s.logprob[t];
  }
  s.scored = T - 1;
  return s;
}

int64_t sample_token(const at::Tensor& logits, double temperature, double top_p, std::mt19937_64& rng) {
  at::Tensor l = logits.to(at::kDouble);
  if (temperature <= 0.0) return l.argmax().item<int64_t>();
  at::Tensor probs = at::softmax(l / temperature, -1);
  auto sorted = probs.sort(/*dim=*/-1, /*descending=*/true);
  at::Tensor p = std::get<0>(sorted).contiguous(), idx = std::get<1>(sorted).contiguous();
  const double* pp = p.data_ptr<double>();
  const int64_t V = p.numel();
  double mass = 0;
  int64_t keep = 0;
  while (keep < V && (keep == 0 || mass < top_p)) mass += pp[keep++];
  std::uniform_real_distribution<double> uniform(0.0, mass);
  const double u = uniform(rng);
  double acc = 0;
  for (int64_t i = 0; i < keep; ++i) {
    acc += pp[i];
    if (u < acc) return idx.data_ptr<int64_t>()[i];
  }
  return idx.data_ptr<int64_t>()[keep - 1];
}

std::vector<int64_t> generate(const Rwkv7Model& model, const std::vector<int64_t>& prompt, const ModelState& initial,
                              const GenerationOptions& options, const std::function<void(int64_t)>& on_token) {
  ST_CHECK(!prompt.empty(), "generate: the prompt has no tokens");
  ST_CHECK(options.top_p > 0.0 && options.top_p <= 1.0, "generate: top_p must be in (0, 1], got {}", options.top_p);
  at::NoGradGuard no_grad;
  ModelState state;
  at::Tensor logits = model
                          .forward(at::tensor(prompt, at::kLong).unsqueeze(0), at::Tensor(),
                                   initial.empty() ? nullptr : &initial, &state)
                          .select(1, static_cast<int64_t>(prompt.size()) - 1)
                          .squeeze(0);
  std::mt19937_64 rng(options.seed);
  std::vector<int64_t> out;
  for (int i = 0; i < options.max_tokens; ++i) {
    const int64_t next = sample_token(logits, options.temperature, options.top_p, rng);
    if (next == options.stop_token) break;
    out.push_back(next);
    if (on_token) on_token(next);
    logits = model.step(at::tensor({next}, at::kLong), state).squeeze(0);
  }
  return out;
}

}  // namespace statetune::workers
