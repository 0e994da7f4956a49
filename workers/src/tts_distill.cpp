#include "statetune/workers/tts_distill.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/kernels/shape_str.h"
#include "statetune/workers/host_device.h"

namespace statetune::workers {
namespace {

// Guide-trace log-probs are often printed rounded; a list whose probabilities sum past 1 by
// at most this much is scaled back to 1, anything more is an error.
constexpr double kMassTolerance = 1e-3;

// question ++ tokens[:-1]: the student's input when it is to predict `tokens` after `question`.
at::Tensor thought_input(const std::vector<int64_t>& question, const std::vector<int64_t>& tokens) {
  std::vector<int64_t> seq(question);
  seq.insert(seq.end(), tokens.begin(), tokens.end() - 1);
  return at::tensor(seq, at::kLong).unsqueeze(0);
}

}  // namespace

ThoughtTarget::ThoughtTarget(const GuideThought& thought, int64_t V, int64_t max_tokens, at::Device device)
    : tokens_(thought.tokens) {
  build(thought, V, max_tokens);
  token_ids_ = to_device(at::tensor(tokens_, at::kLong).unsqueeze(1), device);
  for (at::Tensor* t : {&full_, &ids_, &probs_, &listed_, &rest_, &has_rest_})
    if (t->defined()) *t = t->to(device);
}

void ThoughtTarget::build(const GuideThought& thought, int64_t V, int64_t max_tokens) {
  const int64_t T = size();
  ST_CHECK(T >= 1, "tts distill: the guide's thought has no tokens");
  ST_CHECK(T <= max_tokens, "tts distill: the guide's thought has {} tokens, more than the {} allowed (max_thought_tokens)",
           T, max_tokens);
  for (int64_t t = 0; t < T; ++t) {
    ST_CHECK(tokens_[t] >= 0 && tokens_[t] < V, "tts distill: thought token {} is id {}, outside the vocabulary [0, {})",
             t, tokens_[t], V);
  }
  ST_CHECK(!(thought.logprobs.defined() && !thought.top_k.empty()),
           "tts distill: the thought has both full log-probs and top-k lists; give one of them");
  if (thought.logprobs.defined()) {
    kind_ = Kind::kFull;
    const at::Tensor& lp = thought.logprobs;
    ST_CHECK(lp.dim() == 2 && lp.size(0) == T && lp.size(1) == V,
             "tts distill: the guide's log-probs are {}, expected [T, V] = [{}, {}] (thought tokens, the student's "
             "vocabulary)",
             shape_str(lp.sizes()), T, V);
    ST_CHECK(at::isFloatingType(lp.scalar_type()), "tts distill: the guide's log-probs are {}, expected floating point",
             c10::toString(lp.scalar_type()));
    full_ = at::log_softmax(lp.detach().to(at::kDouble), -1).contiguous();
    ST_CHECK(!at::isnan(full_).any().item<bool>(),
             "tts distill: the guide's log-probs contain NaN (or a row with no finite entry)");
    return;
  }
  if (thought.top_k.empty()) return;  // Kind::kTokens
  kind_ = Kind::kTopK;
  ST_CHECK(static_cast<int64_t>(thought.top_k.size()) == T,
           "tts distill: top-k lists for {} positions, the thought has {} tokens", thought.top_k.size(), T);
  int64_t K = 0;
  for (const auto& list : thought.top_k) K = std::max<int64_t>(K, static_cast<int64_t>(list.size()));
  ids_ = at::zeros({T, K}, at::kLong);
  probs_ = at::zeros({T, K}, at::kDouble);
  rest_ = at::zeros({T}, at::kDouble);
  has_rest_ = at::zeros({T}, at::kBool);
  listed_ = at::zeros({T, V}, at::kBool);
  auto ids = ids_.accessor<int64_t, 2>();
  auto probs = probs_.accessor<double, 2>();
  auto listed = listed_.accessor<bool, 2>();
  auto rest = rest_.accessor<double, 1>();
  auto has_rest = has_rest_.accessor<bool, 1>();
  std::vector<uint8_t> seen(static_cast<size_t>(V), 0);
  for (int64_t t = 0; t < T; ++t) {
    const auto& list = thought.top_k[t];
    ST_CHECK(!list.empty(), "tts distill: the top-k list of position {} is empty", t);
    double mass = 0;
    for (size_t k = 0; k < list.size(); ++k) {
      const auto [id, lp] = list[k];
      ST_CHECK(id >= 0 && id < V, "tts distill: position {} lists token id {}, outside the vocabulary [0, {})", t, id, V);
      ST_CHECK(!seen[id], "tts distill: position {} lists token id {} twice", t, id);
      ST_CHECK(!std::isnan(lp) && lp <= 1e-9, "tts distill: position {} gives token {} the log-prob {}, expected <= 0", t,
               id, lp);
      seen[id] = 1;
      ids[t][k] = id;
      probs[t][k] = std::exp(std::min(lp, 0.0));
      mass += probs[t][k];
    }
    ST_CHECK(mass <= 1.0 + kMassTolerance, "tts distill: the top-k probabilities of position {} sum to {}, more than 1",
             t, mass);
    const bool covers = static_cast<int64_t>(list.size()) == V;
    if (mass > 1.0) {
      for (size_t k = 0; k < list.size(); ++k) probs[t][k] /= mass;
    } else if (!covers && mass < 1.0) {
      rest[t] = 1.0 - mass;
      has_rest[t] = true;
      for (const auto& [id, lp] : list) listed[t][id] = true;
    }
    for (const auto& [id, lp] : list) seen[id] = 0;
  }
}

at::Tensor ThoughtTarget::loss(const at::Tensor& logits) const {
  const int64_t T = size();
  ST_CHECK(logits.dim() == 2 && logits.size(0) == T, "tts distill: student logits are {}, expected [{}, V]",
           shape_str(logits.sizes()), T);
  const at::Tensor ls = at::log_softmax(logits, -1);
  const auto dt = ls.scalar_type();
  switch (kind_) {
    case Kind::kTokens:
      return -ls.gather(1, token_ids_).mean();
    case Kind::kFull: {
      // Σ p (log p − log q) with 0·log 0 = 0: a guide that rules a token out (−inf) adds nothing.
      const at::Tensor g = full_.to(dt), p = g.exp(), present = p > 0;
      const at::Tensor term = at::where(present, p * (at::where(present, g, at::zeros_like(g)) - ls), at::zeros_like(g));
      return term.sum(-1).mean();
    }
    case Kind::kTopK: {
      const at::Tensor p = probs_.to(dt), present = p > 0;
      const at::Tensor logp = at::where(present, probs_.clamp_min(std::numeric_limits<double>::min()).log().to(dt),
                                        at::zeros_like(p));
      const at::Tensor listed = at::where(present, p * (logp - ls.gather(1, ids_)), at::zeros_like(p)).sum(-1);
      // The student's rest mass, in log space: logsumexp of its unlisted log-probs. Rows without
      // a rest bucket mask nothing, so their (unused) value stays finite and their gradient 0.
      const at::Tensor ls_rest = at::logsumexp(ls.masked_fill(listed_, -std::numeric_limits<double>::infinity()), -1);
      const at::Tensor r = rest_.to(dt);
      const at::Tensor log_r = at::where(has_rest_, rest_.clamp_min(std::numeric_limits<double>::min()).log().to(dt),
                                         at::zeros_like(r));
      const at::Tensor rest = at::where(has_rest_, r * (log_r - ls_rest), at::zeros_like(r));
      return (listed + rest).mean();
    }
  }
  fail("tts distill: unknown target kind");
}

at::Tensor distill_loss(const Rwkv7Model& student, const ModelState& state, const std::vector<int64_t>& question,
                        const ThoughtTarget& target) {
  ST_CHECK(!question.empty(), "tts distill: the question has no tokens");
  const int64_t Lq = static_cast<int64_t>(question.size());
  const at::Tensor logits =
      student.forward(thought_input(question, target.tokens()), at::Tensor(), state.empty() ? nullptr : &state)[0];
  return target.loss(logits.narrow(0, Lq - 1, target.size()));
}

GuideThought score_guide_thought(const Rwkv7Model& guide, const ModelState& guide_state,
                                 const std::vector<int64_t>& question, std::vector<int64_t> tokens) {
  ST_CHECK(!question.empty(), "score guide thought: the question has no tokens");
  ST_CHECK(!tokens.empty(), "score guide thought: the thought has no tokens");
  at::NoGradGuard no_grad;
  const int64_t Lq = static_cast<int64_t>(question.size()), T = static_cast<int64_t>(tokens.size());
  const at::Tensor logits =
      guide.forward(thought_input(question, tokens), at::Tensor(), guide_state.empty() ? nullptr : &guide_state)[0];
  GuideThought out;
  out.logprobs = at::log_softmax(logits.narrow(0, Lq - 1, T).to(at::kDouble), -1).contiguous();
  out.tokens = std::move(tokens);
  return out;
}

}  // namespace statetune::workers
