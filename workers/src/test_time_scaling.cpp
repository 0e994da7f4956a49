#include "statetune/workers/test_time_scaling.h"

#include <cmath>
#include <optional>
#include <random>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/kernels/shape_str.h"
#include "statetune/workers/host_device.h"
#include "statetune/workers/tts_reinforce.h"

namespace statetune::workers {
namespace {

void check_options(const TtsOptions& o) {
  ST_CHECK(o.steps >= 0, "tts: tts_steps must be >= 0, got {}", o.steps);
  ST_CHECK(std::isfinite(o.lr) && o.lr > 0, "tts: lr must be > 0, got {}", o.lr);
  ST_CHECK(std::isfinite(o.lr_kernel) && o.lr_kernel >= 0, "tts: lr_kernel must be >= 0, got {}", o.lr_kernel);
  ST_CHECK(o.max_thought_tokens >= 1, "tts: max_thought_tokens must be >= 1, got {}", o.max_thought_tokens);
  if (o.mode == TtsMode::kReinforce) {
    ST_CHECK(o.samples >= 2, "tts reinforce: tts_samples must be >= 2 (the mean baseline), got {}", o.samples);
    ST_CHECK(o.sample_tokens >= 1, "tts reinforce: sample_tokens must be >= 1, got {}", o.sample_tokens);
    ST_CHECK(std::isfinite(o.temperature) && o.temperature > 0,
             "tts reinforce: the temperature must be > 0 (a stochastic policy), got {}", o.temperature);
  }
}

void check_question(const std::vector<int64_t>& question, int64_t V) {
  ST_CHECK(!question.empty(), "tts: the question has no tokens");
  ST_CHECK(question.front() == 0, "tts: the question must start with token 0 (end-of-text), it starts with {}",
           question.front());
  for (size_t i = 0; i < question.size(); ++i) {
    ST_CHECK(question[i] >= 0 && question[i] < V, "tts: question token {} is id {}, outside the vocabulary [0, {})", i,
             question[i], V);
  }
}

// A detached copy of `start` whose tuned parts are fresh leaves (requires_grad), with their
// learning rates. `state` holds the leaves themselves, so Adam's in-place updates show in it.
struct TunableCopy {
  ModelState state;
  std::vector<at::Tensor> params;
  std::vector<double> lrs;
};

TunableCopy tunable_copy(const Rwkv7Model& student, const ModelState& start, const TtsOptions& o) {
  const ModelConfig& c = student.config();
  const int64_t L = c.n_layer, C = c.n_embd, H = c.n_head, N = c.head_size;
  ST_CHECK(start.empty() || static_cast<int64_t>(start.size()) == L, "tts: the start state has {} layers, the model {}",
           start.size(), L);
  const auto opts = student.state_options();
  // A detached copy of one part (zeros where absent), checked to be unbatched and in the
  // student's state dtype, on its device.
  auto copy_of = [&](const at::Tensor& t, std::vector<int64_t> shape, const char* what, int64_t l) {
    if (!t.defined()) return at::zeros(shape, opts);
    ST_CHECK(t.sizes() == at::IntArrayRef(shape), "tts: the start state's layer {} {} is {}, expected {} (unbatched)", l,
             what, shape_str(t.sizes()), shape_str(shape));
    ST_CHECK(t.scalar_type() == student.state_dtype(),
             "tts: the start state's layer {} {} is {}, the student's state is {}", l, what,
             c10::toString(t.scalar_type()), c10::toString(student.state_dtype()));
    ST_CHECK(t.device() == student.device(), "tts: the start state's layer {} {} is on {}, the student on {}", l, what,
             t.device().str(), student.device().str());
    return t.detach().clone();
  };
  TunableCopy out;
  auto leaf = [&out](at::Tensor t, double lr) {
    t.set_requires_grad(true);
    out.params.push_back(t);
    out.lrs.push_back(lr);
    return t;
  };
  int64_t readouts = 0;
  const LayerState none;
  for (int64_t l = 0; l < L; ++l) {
    const LayerState& s = start.empty() ? none : start[l];
    LayerState t;
    t.wkv = leaf(copy_of(s.wkv, {H, N, N}, "wkv", l), o.lr);
    if (o.tune_shift) {
      t.att_shift = leaf(copy_of(s.att_shift, {C}, "att_shift", l), o.lr);
      t.ffn_shift = leaf(copy_of(s.ffn_shift, {C}, "ffn_shift", l), o.lr);
    } else {
      if (s.att_shift.defined()) t.att_shift = copy_of(s.att_shift, {C}, "att_shift", l);
      if (s.ffn_shift.defined()) t.ffn_shift = copy_of(s.ffn_shift, {C}, "ffn_shift", l);
    }
    if (s.transport.defined()) t.transport = copy_of(s.transport, {H, N, N}, "transport", l);
    if (s.readout) {
      const KernelReadout& r = *s.readout;
      ST_CHECK(r.support.defined() && r.gamma.defined() && r.R.defined() && r.S_hat.defined() && r.Q.defined(),
               "tts: the start state's layer {} kernel read-out is incomplete", l);
      KernelReadout ro{r.support.detach().clone(), r.gamma.detach().clone(), r.R.detach().clone(),
                       r.S_hat.detach().clone(), r.Q.detach().clone()};
      ro.S_hat = leaf(ro.S_hat, o.lr_kernel);
      t.readout = ro;
      ++readouts;
    }
    out.state.push_back(t);
  }
  ST_CHECK(readouts == 0 || readouts == L, "tts: the start state has a kernel read-out in {} of its {} layers; "
           "expected every layer or none", readouts, L);
  return out;
}

ModelState detached(const ModelState& state) {
  ModelState out = state;
  for (auto& layer : out) {
    for (at::Tensor* t : {&layer.att_shift, &layer.wkv, &layer.ffn_shift, &layer.transport})
      if (t->defined()) *t = t->detach();
    if (layer.readout) layer.readout->S_hat = layer.readout->S_hat.detach();
  }
  return out;
}

}  // namespace

TtsMode parse_tts_mode(const std::string& name) {
  if (name == "distill") return TtsMode::kDistill;
  if (name == "reinforce") return TtsMode::kReinforce;
  fail("unknown test-time scaling mode '{}' (expected distill or reinforce)", name);
}

const char* tts_mode_name(TtsMode mode) {
  switch (mode) {
    case TtsMode::kDistill: return "distill";
    case TtsMode::kReinforce: return "reinforce";
  }
  return "?";
}

ModelState adapt_state(const Rwkv7Model& student, const ModelState& start, const std::vector<int64_t>& question,
                       const GuideThought& thought, const Rwkv7Model* guide, const ModelState& guide_state,
                       const TtsOptions& options, TtsStats* stats) {
  Timer timer;
  const int64_t V = student.config().vocab_size;
  check_options(options);
  check_question(question, V);
  std::optional<ThoughtTarget> target;
  if (options.mode == TtsMode::kDistill) {
    target.emplace(thought, V, options.max_thought_tokens, student.device());
  } else {
    ST_CHECK(guide != nullptr, "tts reinforce: needs an RWKV guide model to score the samples, none was given");
    ST_CHECK(guide->config().vocab_size == V,
             "tts reinforce: the guide's vocabulary has {} tokens, the student's {}; they must share the tokenizer",
             guide->config().vocab_size, V);
    ST_CHECK(thought.tokens.empty() && !thought.logprobs.defined() && thought.top_k.empty(),
             "tts reinforce: takes no guide thought (the guide scores the student's own samples), got one with {} "
             "tokens",
             thought.tokens.size());
  }
  at::AutoGradMode grad_mode(true);  // callers evaluate under NoGradGuard
  TunableCopy copy = tunable_copy(student, start, options);
  Adam adam(copy.params, options.adam);
  std::mt19937_64 rng(options.seed);
  const int64_t Lq = static_cast<int64_t>(question.size());
  const int64_t S = options.samples, Ts = options.sample_tokens;
  TtsStats st;
  if (target) st.guide_tokens = target->size();
  for (int64_t step = 0; step < options.steps; ++step) {
    at::Tensor loss, value;  // value: the step's figure (the loss, or the mean guide reward)
    if (target) {
      loss = distill_loss(student, copy.state, question, *target);
      value = loss.detach();
      st.student_tokens += Lq + target->size() - 1;
    } else {
      const auto samples = sample_continuations(student, copy.state, question, S, Ts, options.temperature, rng);
      const at::Tensor rewards = guide_token_rewards(*guide, guide_state, question, samples);
      value = rewards.mean();
      loss = reinforce_loss(student, copy.state, question, samples, rewards, options.temperature);
      st.guide_tokens += S * (Lq + Ts - 1);
      st.student_tokens += Lq + S * (Ts - 1) + S * (Lq + Ts - 1);
    }
    // Backward before looking: the host reads the figure, the loss and whether every gradient
    // is finite at once, and a step that fails either check touches nothing.
    for (auto& p : copy.params)
      if (p.grad().defined()) p.mutable_grad().zero_();
    loss.backward();
    std::vector<at::Tensor> grads;
    at::Tensor finite = at::ones({}, value.options().dtype(at::kBool));
    for (const auto& p : copy.params) {
      grads.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
      finite = finite.logical_and(at::isfinite(grads.back()).all());
    }
    const at::Tensor host = to_host(at::stack({value.to(at::kDouble), loss.detach().to(at::kDouble), finite.to(at::kDouble)}));
    const double figure = host[0].item<double>(), loss_value = host[1].item<double>();
    if (!std::isfinite(loss_value)) {
      st.diverged = fmt::format("the {} loss is {} at step {}; the state before that step was kept",
                                tts_mode_name(options.mode), loss_value, step);
      break;
    }
    if (host[2].item<double>() == 0) {
      st.diverged = fmt::format("the {} gradient is not finite at step {}; the state before that step was kept",
                                tts_mode_name(options.mode), step);
      break;
    }
    adam.step(grads, copy.lrs);
    st.loss_or_reward_per_step.push_back(figure);
    ++st.steps;
  }
  st.seconds = timer.seconds();
  if (stats != nullptr) *stats = std::move(st);
  return detached(copy.state);
}

}  // namespace statetune::workers
