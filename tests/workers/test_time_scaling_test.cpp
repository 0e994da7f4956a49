// Test-time scaling (METHOD.md §4): the distill losses and their gradients, distillation
// from a prefixed guide, REINFORCE toward a guide's preference, isolation between
// questions, what is tuned, and input checks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ATen/core/grad_mode.h>

#include "expect_error.h"
#include "finite_difference.h"
#include "small_config.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/kernel_calibration.h"
#include "statetune/workers/test_time_scaling.h"
#include "statetune/workers/tts_reinforce.h"
#include "statetune/workers/tuned_state.h"

namespace statetune::workers {
namespace {

constexpr int64_t kVocab = 97;

Rwkv7Model small_model(uint64_t seed) {
  return Rwkv7Model(init_random_model(testing::small_config(2, kVocab), seed), "random", at::kDouble);
}

std::vector<int64_t> random_tokens(int64_t n, uint64_t seed, bool eot_first) {
  at::manual_seed(seed);
  std::vector<int64_t> t;
  if (eot_first) t.push_back(0);
  const at::Tensor r = at::randint(1, kVocab, {n}, at::kLong);
  for (int64_t i = 0; i < n; ++i) t.push_back(r[i].item<int64_t>());
  return t;
}

// A generic, non-zero unbatched state: S0 of every layer ~ N(0, 0.2²).
TunedState random_state(const Rwkv7Model& model, uint64_t seed, bool tune_shift = false) {
  TunedState s(model.config(), tune_shift, at::kDouble);
  at::NoGradGuard no_grad;
  at::manual_seed(seed);
  for (auto& p : s.parameters()) p.normal_(0, 0.2);
  return s;
}

ModelState detached_copy(const ModelState& state) {
  ModelState out = state;
  for (auto& l : out) {
    for (at::Tensor* t : {&l.att_shift, &l.wkv, &l.ffn_shift, &l.transport})
      if (t->defined()) *t = t->detach().clone();
    if (l.readout) l.readout->S_hat = l.readout->S_hat.detach().clone();
  }
  return out;
}

// Per position the k most likely tokens of `logprobs` [T, V]; position 0 lists the whole
// vocabulary (no rest bucket there), the others leave a rest.
std::vector<std::vector<std::pair<int64_t, double>>> top_k_of(const at::Tensor& logprobs, int64_t k) {
  std::vector<std::vector<std::pair<int64_t, double>>> out;
  for (int64_t t = 0; t < logprobs.size(0); ++t) {
    const auto sorted = logprobs[t].sort(-1, /*descending=*/true);
    const int64_t n = t == 0 ? logprobs.size(1) : k;
    std::vector<std::pair<int64_t, double>> list;
    for (int64_t i = 0; i < n; ++i)
      list.emplace_back(std::get<1>(sorted)[i].item<int64_t>(), std::get<0>(sorted)[i].item<double>());
    out.push_back(list);
  }
  return out;
}

bool same_state(const ModelState& a, const ModelState& b) {
  if (a.size() != b.size()) return false;
  auto eq = [](const at::Tensor& x, const at::Tensor& y) {
    return x.defined() == y.defined() && (!x.defined() || at::equal(x, y));
  };
  for (size_t l = 0; l < a.size(); ++l) {
    if (!eq(a[l].wkv, b[l].wkv) || !eq(a[l].att_shift, b[l].att_shift) || !eq(a[l].ffn_shift, b[l].ffn_shift) ||
        !eq(a[l].transport, b[l].transport) || a[l].readout.has_value() != b[l].readout.has_value())
      return false;
    if (a[l].readout && !(eq(a[l].readout->S_hat, b[l].readout->S_hat) && eq(a[l].readout->R, b[l].readout->R)))
      return false;
  }
  return true;
}

// ---- distill --------------------------------------------------------------------------

TEST(TtsDistill, KlGradientWrtTheStateMatchesFiniteDifferences) {
  const Rwkv7Model model = small_model(4);
  TunedState state = random_state(model, 2);
  const std::vector<int64_t> question = random_tokens(6, 31, true);
  GuideThought full{random_tokens(7, 32, false), {}, {}};
  at::manual_seed(33);
  full.logprobs = at::log_softmax(2.0 * at::randn({7, kVocab}, at::kDouble), -1);
  GuideThought top_k{full.tokens, {}, top_k_of(full.logprobs, 5)};
  for (const GuideThought* thought : {&full, &top_k}) {
    const char* what = thought == &full ? "full distributions" : "top-k";
    const ThoughtTarget target(*thought, kVocab, 64);
    auto loss = [&] { return distill_loss(model, state.initial_state(), question, target); };
    for (const auto& p : state.parameters())
      if (p.grad().defined()) p.mutable_grad().zero_();
    loss().backward();
    for (size_t l = 0; l < state.wkv().size(); ++l) {
      at::Tensor flat = state.wkv()[l].detach().view({-1});
      const at::Tensor grad = state.wkv()[l].grad().view({-1}).clone();
      const auto [worst, largest] = compare_with_central_differences(flat, grad, loss, 37, 1e-6, /*floor=*/1e-3);
      EXPECT_GT(largest, 1e-6) << what << " layer " << l << ": the sampled gradient is all zero";
      EXPECT_LT(worst, 1e-5) << what << " layer " << l;
    }
  }
}

TEST(TtsDistill, TopKOverTheWholeVocabularyIsTheFullKlAndAShortListALowerBound) {
  const Rwkv7Model model = small_model(4);
  const ModelState state = detached_copy(random_state(model, 2).initial_state());
  const std::vector<int64_t> question = random_tokens(5, 41, true);
  GuideThought full{random_tokens(6, 42, false), {}, {}};
  at::manual_seed(43);
  full.logprobs = at::log_softmax(2.0 * at::randn({6, kVocab}, at::kDouble), -1);
  at::NoGradGuard no_grad;
  const double kl = distill_loss(model, state, question, ThoughtTarget(full, kVocab, 64)).item<double>();
  const double all = distill_loss(model, state, question, ThoughtTarget({full.tokens, {}, top_k_of(full.logprobs, kVocab)},
                                                                       kVocab, 64))
                         .item<double>();
  const double some = distill_loss(model, state, question, ThoughtTarget({full.tokens, {}, top_k_of(full.logprobs, 4)},
                                                                        kVocab, 64))
                          .item<double>();
  EXPECT_NEAR(all, kl, 1e-12);
  EXPECT_LT(some, kl);
  EXPECT_GT(some, 0.0);
  // Logits in place of log-probs give the same loss (rows are normalised).
  GuideThought logits{full.tokens, full.logprobs + 3.5, {}};
  EXPECT_NEAR(distill_loss(model, state, question, ThoughtTarget(logits, kVocab, 64)).item<double>(), kl, 1e-12);
}

// The guide is the student's own model reading a prefix first (tuning_test.cpp's prompt ->
// state distillation); it writes a thought for the question. Adapting the student's zero
// state lowers the distance to that thought, for every kind of guide information.
TEST(TtsDistill, LossToAPrefixedGuideDropsOverSteps) {
  const Rwkv7Model model = small_model(21);
  const ModelState guide_state = model.prompt_state(random_tokens(32, 50, true));
  const std::vector<int64_t> question = random_tokens(8, 51, true);
  GenerationOptions g;
  g.max_tokens = 24;
  g.top_p = 1.0;
  g.seed = 52;
  g.stop_token = -1;  // a fixed-length thought
  const GuideThought full =
      score_guide_thought(model, guide_state, question, generate(model, question, guide_state, g, {}));
  ASSERT_EQ(full.tokens.size(), 24u);
  const GuideThought top_k{full.tokens, {}, top_k_of(full.logprobs, 8)};
  const GuideThought tokens_only{full.tokens, {}, {}};
  double guide_ce = 0;  // for reference: the guide's own cross-entropy on its sampled thought
  for (size_t t = 0; t < full.tokens.size(); ++t) guide_ce -= full.logprobs[t][full.tokens[t]].item<double>();
  guide_ce /= static_cast<double>(full.tokens.size());
  TtsOptions o;
  o.steps = 12;
  o.lr = 0.05;
  for (const GuideThought* thought : {&full, &top_k, &tokens_only}) {
    const char* what = thought == &full ? "full KL" : thought == &top_k ? "top-k KL" : "cross-entropy";
    TtsStats stats;
    const ModelState adapted = adapt_state(model, {}, question, *thought, nullptr, {}, o, &stats);
    const ThoughtTarget target(*thought, kVocab, o.max_thought_tokens);
    at::NoGradGuard no_grad;
    const double before = distill_loss(model, {}, question, target).item<double>();
    const double after = distill_loss(model, adapted, question, target).item<double>();
    std::printf("tts distill (%s): loss %.4f -> %.4f in %lld steps (guide CE %.4f), %.3f s per call\n", what, before,
                after, static_cast<long long>(stats.steps), guide_ce, stats.seconds);
    ASSERT_EQ(stats.steps, o.steps) << stats.diverged;
    EXPECT_EQ(stats.guide_tokens, 24);
    EXPECT_NEAR(stats.loss_or_reward_per_step.front(), before, 1e-12);
    EXPECT_LT(stats.loss_or_reward_per_step.back(), stats.loss_or_reward_per_step.front()) << what;
    // Measured: full KL 0.0172 -> 0.0032, top-k KL 0.0068 -> 0.0008, CE 3.654 -> 3.215 (the
    // guide's own CE on the thought is 3.64: the student fits the sampled tokens themselves,
    // and a CE has no zero to take a ratio to, so it gets an absolute margin).
    if (thought == &tokens_only) {
      EXPECT_LT(after, before - 0.2) << what;
    } else {
      EXPECT_LT(after, 0.5 * before) << what;
    }
  }
}

// ---- reinforce ------------------------------------------------------------------------

// The REINFORCE toy: a small vocabulary, so that every token, the preferred one included, is
// sampled often from the start and each step's samples carry signal (with 97 tokens the
// student samples the preferred one about once per step, and all other advantages are 0).
constexpr int64_t kToyVocab = 8;
constexpr int64_t kPreferred = 5;

// A guide that prefers one token whatever the context: LayerNorm gain 0 leaves its final
// features equal to the LayerNorm bias b, and a head whose only non-zero row is
// h_kPreferred = 4·b/|b|² gives logit 4 to kPreferred and 0 to every other token at every
// position: reward log p = −0.13 for kPreferred, −4.13 for anything else. The expected
// reward is then −4.13 + 4·P(student samples kPreferred): a clean measure that must rise
// under any working REINFORCE. (The guide's use of the context is checked separately, in
// RewardsAreTheGuidesLogProbsInContext.)
Rwkv7Model preferring_guide() {
  TensorMap w = init_random_model(testing::small_config(2, kToyVocab), 99);
  const at::Tensor b = w.at("ln_out.bias");
  w["ln_out.weight"] = at::zeros_like(w.at("ln_out.weight"));
  at::Tensor head = at::zeros_like(w.at("head.weight"));
  head[kPreferred] = 4.0 * b / b.pow(2).sum();
  w["head.weight"] = head;
  return Rwkv7Model(w, "preferring guide", at::kDouble);
}

// The student's expected reward, estimated with a fixed evaluation seed (the same random
// numbers for every state compared): mean guide log-prob per sampled token, and the share of
// kPreferred among the samples.
std::pair<double, double> expected_reward(const Rwkv7Model& student, const ModelState& state, const Rwkv7Model& guide,
                                          const std::vector<int64_t>& question, int64_t length) {
  std::mt19937_64 rng(1234);
  const auto samples = sample_continuations(student, state, question, 256, length, 1.0, rng);
  const at::Tensor r = guide_token_rewards(guide, {}, question, samples);
  double hits = 0;
  for (const auto& s : samples)
    for (int64_t id : s) hits += id == kPreferred;
  return {r.mean().item<double>(), hits / static_cast<double>(r.numel())};
}

TEST(TtsReinforce, ExpectedGuideRewardRisesOverSteps) {
  const Rwkv7Model student(init_random_model(testing::small_config(2, kToyVocab), 7), "random", at::kDouble);
  const Rwkv7Model guide = preferring_guide();
  const std::vector<int64_t> question{0, 3, 1, 4, 1, 6};
  TtsOptions o;
  o.mode = TtsMode::kReinforce;
  o.samples = 8;
  o.sample_tokens = 8;
  o.lr = 0.3;
  o.seed = 3;
  double previous = -1e9, first = 0, first_share = 0, share_now = 0;
  for (int64_t steps : {0, 5, 10, 20}) {
    o.steps = steps;
    TtsStats stats;
    const ModelState adapted = adapt_state(student, {}, question, {}, &guide, {}, o, &stats);
    ASSERT_EQ(stats.steps, steps) << stats.diverged;
    const auto [reward, share] = expected_reward(student, adapted, guide, question, o.sample_tokens);
    std::printf("tts reinforce: %2lld steps: expected reward %.3f, share of the preferred token %.3f, %.3f s per call\n",
                static_cast<long long>(steps), reward, share, stats.seconds);
    if (steps == 0) {
      first = reward;
      first_share = share;
    }
    EXPECT_GT(reward, previous) << steps << " steps";
    previous = reward;
    share_now = share;
  }
  // Measured (seeds 3 to 6 alike): −3.58 -> −1.83, share 0.14 -> 0.57 after 20 steps.
  EXPECT_GT(previous, first + 1.0);
  EXPECT_GT(share_now, 2.5 * first_share);
}

// With one token per sample the expected reward has a closed form, J = Σ_v π(v | question)
// r(v), so the REINFORCE gradient can be checked against the exact policy gradient: over
// many samples it points the same way, with the (S−1)/S scale of the in-sample baseline.
TEST(TtsReinforce, LossGradientEstimatesThePolicyGradient) {
  const Rwkv7Model student(init_random_model(testing::small_config(2, kToyVocab), 7), "random", at::kDouble);
  const Rwkv7Model guide(init_random_model(testing::small_config(2, kToyVocab), 8), "random", at::kDouble);
  TunedState state = random_state(student, 12);
  const std::vector<int64_t> question{0, 2, 7, 1};
  const int64_t Lq = static_cast<int64_t>(question.size());
  const at::Tensor q = at::tensor(question, at::kLong).unsqueeze(0);
  at::Tensor r;
  {
    at::NoGradGuard no_grad;
    r = at::log_softmax(guide.forward(q)[0][Lq - 1], -1);
  }
  auto gradient_of = [&](const at::Tensor& loss) {
    for (const auto& p : state.parameters())
      if (p.grad().defined()) p.mutable_grad().zero_();
    loss.backward();
    std::vector<at::Tensor> g;
    for (const auto& p : state.parameters()) g.push_back(p.grad().clone().view({-1}));
    return at::cat(g);
  };
  const ModelState init = state.initial_state();
  const at::Tensor pi = at::softmax(student.forward(q, at::Tensor(), &init)[0][Lq - 1], -1);
  const at::Tensor exact = gradient_of(-(pi * r).sum());
  std::mt19937_64 rng(21);
  const int64_t S = 2048;
  const auto samples = sample_continuations(student, init, question, S, 1, 1.0, rng);
  const at::Tensor estimate =
      gradient_of(reinforce_loss(student, init, question, samples,
                                 guide_token_rewards(guide, {}, question, samples), 1.0));
  const double cosine = (exact * estimate).sum().item<double>() / (exact.norm() * estimate.norm()).item<double>();
  const double ratio = estimate.norm().item<double>() / exact.norm().item<double>();
  std::printf("reinforce vs exact policy gradient: cosine %.4f, norm ratio %.3f\n", cosine, ratio);
  EXPECT_GT(cosine, 0.95);
  EXPECT_NEAR(ratio, 1.0, 0.15);
}

TEST(TtsReinforce, RewardsAreTheGuidesLogProbsInContext) {
  const Rwkv7Model student = small_model(7), guide = small_model(8);
  const std::vector<int64_t> question = random_tokens(4, 70, true);
  std::mt19937_64 rng(5);
  const auto samples = sample_continuations(student, {}, question, 3, 6, 1.0, rng);
  ASSERT_EQ(samples.size(), 3u);
  const at::Tensor r = guide_token_rewards(guide, {}, question, samples);
  ASSERT_EQ(r.sizes(), (at::IntArrayRef{3, 6}));
  at::NoGradGuard no_grad;
  for (size_t s = 0; s < samples.size(); ++s) {
    std::vector<int64_t> seq(question);
    seq.insert(seq.end(), samples[s].begin(), samples[s].end());
    const at::Tensor lp = at::log_softmax(guide.forward(at::tensor(seq, at::kLong).unsqueeze(0))[0], -1);
    for (size_t t = 0; t < samples[s].size(); ++t) {
      const int64_t pos = static_cast<int64_t>(question.size() + t);
      EXPECT_NEAR(r[s][t].item<double>(), lp[pos - 1][seq[pos]].item<double>(), 1e-10) << s << "," << t;
    }
  }
  // Same seed, same samples.
  std::mt19937_64 again(5);
  EXPECT_EQ(sample_continuations(student, {}, question, 3, 6, 1.0, again), samples);
}

// A guide reading a prefix first (`guide_prefix`; with no guide model, the student itself):
// its rewards are its log-probs after prefix ++ question ++ sample, not after the question alone.
TEST(TtsReinforce, RewardsOfAGuideAfterAPrefixAreItsLogProbsAfterThePrefix) {
  const Rwkv7Model student = small_model(7), guide = small_model(8);
  const std::vector<int64_t> prefix = random_tokens(12, 71, true), question = random_tokens(4, 70, true);
  const ModelState guide_state = guide.prompt_state(prefix);
  std::mt19937_64 rng(5);
  const auto samples = sample_continuations(student, {}, question, 3, 6, 1.0, rng);
  const at::Tensor r = guide_token_rewards(guide, guide_state, question, samples);
  const at::Tensor without = guide_token_rewards(guide, {}, question, samples);
  ASSERT_EQ(r.sizes(), (at::IntArrayRef{3, 6}));
  at::NoGradGuard no_grad;
  double worst = 0;
  for (size_t s = 0; s < samples.size(); ++s) {
    std::vector<int64_t> seq(prefix);
    seq.insert(seq.end(), question.begin(), question.end());
    seq.insert(seq.end(), samples[s].begin(), samples[s].end());
    const at::Tensor lp = at::log_softmax(guide.forward(at::tensor(seq, at::kLong).unsqueeze(0))[0], -1);
    for (size_t t = 0; t < samples[s].size(); ++t) {
      const int64_t pos = static_cast<int64_t>(prefix.size() + question.size() + t);
      worst = std::max(worst, std::abs(r[s][t].item<double>() - lp[pos - 1][seq[pos]].item<double>()));
    }
  }
  const double shift = (r - without).abs().max().item<double>();
  std::printf("reinforce rewards after a 12-token prefix: max |reward - direct log-prob| %.2e, max change from the "
              "prefix %.3f\n", worst, shift);
  EXPECT_LT(worst, 1e-6);
  EXPECT_GT(shift, 1e-3) << "the prefix must change the guide's rewards";
}

// adapt_state hands its guide state to the rewards: the adapted state follows the prefixed guide.
TEST(TtsReinforce, AdaptStateUsesTheGuidesState) {
  const Rwkv7Model student = small_model(7);
  const std::vector<int64_t> question = random_tokens(4, 70, true);
  TtsOptions o;
  o.mode = TtsMode::kReinforce;
  o.steps = 2;
  o.samples = 3;
  o.sample_tokens = 4;
  o.seed = 9;
  const ModelState prefixed = student.prompt_state(random_tokens(12, 71, true));
  TtsStats with, plain;
  const ModelState a = adapt_state(student, {}, question, {}, &student, prefixed, o, &with);
  const ModelState b = adapt_state(student, {}, question, {}, &student, {}, o, &plain);
  ASSERT_EQ(with.steps, 2) << with.diverged;
  ASSERT_EQ(plain.steps, 2) << plain.diverged;
  EXPECT_NE(with.loss_or_reward_per_step, plain.loss_or_reward_per_step);
  EXPECT_FALSE(same_state(a, b));
}

// ---- isolation, what is tuned ---------------------------------------------------------

TEST(TestTimeScaling, StartIsUntouchedAndRepeatedCallsAreBitIdentical) {
  const Rwkv7Model student = small_model(4), guide = small_model(5);
  const ModelState start = detached_copy(random_state(student, 2, /*tune_shift=*/true).initial_state());
  const ModelState snapshot = detached_copy(start);
  const std::vector<int64_t> question_a = random_tokens(6, 80, true), question_b = random_tokens(7, 81, true);
  const GuideThought thought = score_guide_thought(guide, {}, question_a, random_tokens(5, 82, false));
  auto logits_b = [&] {
    at::NoGradGuard no_grad;
    return student.forward(at::tensor(question_b, at::kLong).unsqueeze(0), at::Tensor(), &start);
  };
  const at::Tensor never_adapted = logits_b();
  for (TtsMode mode : {TtsMode::kDistill, TtsMode::kReinforce}) {
    TtsOptions o;
    o.mode = mode;
    o.steps = 3;
    o.lr = 0.05;
    o.sample_tokens = 6;
    o.tune_shift = true;
    const GuideThought& t = mode == TtsMode::kDistill ? thought : GuideThought{};
    TtsStats s1, s2;
    const ModelState a1 = adapt_state(student, start, question_a, t, &guide, {}, o, &s1);
    std::printf("tts %s (V = %lld, %lld steps): %.3f s per call, %lld guide / %lld student tokens\n",
                tts_mode_name(mode), static_cast<long long>(kVocab), static_cast<long long>(s1.steps), s1.seconds,
                static_cast<long long>(s1.guide_tokens), static_cast<long long>(s1.student_tokens));
    EXPECT_TRUE(same_state(start, snapshot)) << tts_mode_name(mode) << ": start was modified";
    EXPECT_TRUE(at::equal(logits_b(), never_adapted)) << tts_mode_name(mode);
    EXPECT_FALSE(same_state(a1, start)) << tts_mode_name(mode) << ": nothing was adapted";
    const ModelState a2 = adapt_state(student, start, question_a, t, &guide, {}, o, &s2);
    EXPECT_TRUE(same_state(a1, a2)) << tts_mode_name(mode);
    EXPECT_EQ(s1.loss_or_reward_per_step, s2.loss_or_reward_per_step) << tts_mode_name(mode);
    EXPECT_FALSE(a1[0].wkv.requires_grad());
  }
}

TEST(TestTimeScaling, TunesS0AndTheKernelStateAndKeepsTheFixedParts) {
  const Rwkv7Model model = small_model(4);
  std::vector<std::vector<int64_t>> prompts;
  for (uint64_t i = 0; i < 6; ++i) prompts.push_back(random_tokens(12, 90 + i, true));
  KernelCalibrationOptions ko;
  ko.M = 8;
  ko.seed = 11;
  TunedState tuned(model.config(), false, at::kDouble);
  tuned.add_kernel_readout(calibrate_kernel_readout(model, prompts, nullptr, ko).buffers, true);
  {
    at::NoGradGuard g;
    at::manual_seed(9);
    for (auto& p : tuned.parameters()) p.normal_(0, 0.2);
    for (auto& R : tuned.decorrelation()) R = R + 0.1 * at::randn_like(R);
  }
  const ModelState start = detached_copy(tuned.initial_state());
  const std::vector<int64_t> question = random_tokens(6, 97, true);
  const GuideThought thought{random_tokens(5, 98, false), {}, {}};
  TtsOptions o;
  o.steps = 2;
  o.lr = 0.05;
  o.lr_kernel = 0.01;
  const ModelState adapted = adapt_state(model, start, question, thought, nullptr, {}, o);
  for (size_t l = 0; l < start.size(); ++l) {
    EXPECT_FALSE(at::equal(adapted[l].wkv, start[l].wkv)) << l;
    ASSERT_TRUE(adapted[l].readout.has_value());
    const KernelReadout &a = *adapted[l].readout, &s = *start[l].readout;
    EXPECT_FALSE(at::equal(a.S_hat, s.S_hat)) << l;
    EXPECT_TRUE(at::equal(a.R, s.R) && at::equal(a.support, s.support) && at::equal(a.gamma, s.gamma) &&
                at::equal(a.Q, s.Q))
        << l;
    EXPECT_FALSE(adapted[l].att_shift.defined());  // shifts not tuned: as start has them (none)
  }
  // No steps: the start, exactly.
  o.steps = 0;
  TtsStats stats;
  EXPECT_TRUE(same_state(adapt_state(model, start, question, thought, nullptr, {}, o, &stats), start));
  EXPECT_EQ(stats.steps, 0);
}

// ---- input checks ---------------------------------------------------------------------

TEST(TestTimeScaling, RejectsBadInputsWithClearMessages) {
  using testing::expect_error;
  const Rwkv7Model model = small_model(4);
  const std::vector<int64_t> question{0, 5, 6};
  const GuideThought thought{{7, 8, 9}, {}, {}};
  TtsOptions distill;
  TtsOptions reinforce;
  reinforce.mode = TtsMode::kReinforce;
  expect_error([&] { adapt_state(model, {}, {}, thought, nullptr, {}, distill); }, "the question has no tokens");
  expect_error([&] { adapt_state(model, {}, {5, 6}, thought, nullptr, {}, distill); }, "must start with token 0");
  expect_error([&] { adapt_state(model, {}, {0, 500}, thought, nullptr, {}, distill); }, "outside the vocabulary");
  expect_error([&] { adapt_state(model, {}, question, {}, nullptr, {}, distill); }, "thought has no tokens");
  TtsOptions short_thoughts = distill;
  short_thoughts.max_thought_tokens = 2;
  expect_error([&] { adapt_state(model, {}, question, thought, nullptr, {}, short_thoughts); },
               "thought has 3 tokens, more than the 2 allowed");
  GuideThought wrong_vocab = thought;
  wrong_vocab.logprobs = at::zeros({3, 50}, at::kDouble);
  expect_error([&] { adapt_state(model, {}, question, wrong_vocab, nullptr, {}, distill); },
               "log-probs are [3, 50], expected [T, V] = [3, 97]");
  GuideThought both = wrong_vocab;
  both.top_k = {{{1, -0.1}}, {{1, -0.1}}, {{1, -0.1}}};
  expect_error([&] { adapt_state(model, {}, question, both, nullptr, {}, distill); }, "give one of them");
  GuideThought twice{thought.tokens, {}, {{{1, -1.0}}, {{2, -1.0}, {2, -2.0}}, {{3, -0.5}}}};
  expect_error([&] { adapt_state(model, {}, question, twice, nullptr, {}, distill); },
               "position 1 lists token id 2 twice");
  GuideThought too_much{thought.tokens, {}, {{{1, -0.1}, {2, -0.2}}, {{1, -1.0}}, {{3, -0.5}}}};
  expect_error([&] { adapt_state(model, {}, question, too_much, nullptr, {}, distill); },
               "probabilities of position 0 sum to");
  GuideThought few{thought.tokens, {}, {{{1, -1.0}}}};
  expect_error([&] { adapt_state(model, {}, question, few, nullptr, {}, distill); },
               "top-k lists for 1 positions, the thought has 3 tokens");
  expect_error([&] { adapt_state(model, {}, question, {}, nullptr, {}, reinforce); },
               "needs an RWKV guide model");
  expect_error([&] { adapt_state(model, {}, question, thought, &model, {}, reinforce); }, "takes no guide thought");
  TtsOptions one_sample = reinforce;
  one_sample.samples = 1;
  expect_error([&] { adapt_state(model, {}, question, {}, &model, {}, one_sample); }, "tts_samples must be >= 2");
  const Rwkv7Model other_vocab(init_random_model(testing::small_config(2, 50), 1), "random", at::kDouble);
  expect_error([&] { adapt_state(model, {}, question, {}, &other_vocab, {}, reinforce); },
               "the guide's vocabulary has 50 tokens, the student's 97");
  ModelState batched = model.zero_state(1);
  expect_error([&] { adapt_state(model, batched, question, thought, nullptr, {}, distill); },
               "layer 0 wkv is [1, 4, 16, 16], expected [4, 16, 16] (unbatched)");
  EXPECT_EQ(parse_tts_mode("reinforce"), TtsMode::kReinforce);
  expect_error([] { parse_tts_mode("sft"); }, "unknown test-time scaling mode 'sft'");
}

}  // namespace
}  // namespace statetune::workers
