#include "statetune/workers/generation.h"

#include <cmath>
#include <limits>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/workers/host_device.h"

namespace statetune::workers {

TokenScores score_tokens(const Rwkv7Model& model, const std::vector<int64_t>& ids, const ModelState& initial) {
  ST_CHECK(!ids.empty(), "score: no tokens to score");
  at::NoGradGuard no_grad;
  TokenScores s;
  s.logits = to_host(model
                         .forward(at::tensor(ids, at::kLong).unsqueeze(0), at::Tensor(),
                                  initial.empty() ? nullptr : &initial)
                         .squeeze(0)
                         .to(at::kFloat))
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
  if (temperature <= 0.0) return to_host(l.argmax()).item<int64_t>();
  // Nucleus sampling on the device, the host reading only the chosen token. With the
  // probabilities sorted in decreasing order and cum their running sums (sequential on the
  // CPU, as a host loop would add them):
  //   keep = the fewest tokens whose mass reaches top_p (at least 1), mass = cum[keep - 1];
  //   u    = a uniform draw in [0, mass): std::uniform_real_distribution's own formula,
  //          generate_canonical · (mass − 0) + 0, with the canonical number drawn here;
  //   the token is the first i with cum[i] > u, at most keep − 1.
  const double canonical = std::generate_canonical<double, std::numeric_limits<double>::digits>(rng);
  const at::Tensor probs = at::softmax(l / temperature, -1);
  auto [p, idx] = probs.sort(/*dim=*/-1, /*descending=*/true);
  const int64_t V = p.numel();
  const at::Tensor cum = p.cumsum(0);
  const at::Tensor last = (cum.narrow(0, 0, V - 1) < top_p).sum().view({1});  // keep − 1
  const at::Tensor u = cum.index_select(0, last) * canonical;
  const at::Tensor i = at::minimum(at::searchsorted(cum, u, /*out_int32=*/false, /*right=*/true), last);
  return to_host(idx.index_select(0, i)).item<int64_t>();
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
