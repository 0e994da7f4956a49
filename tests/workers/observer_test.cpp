// Observer tuning (METHOD.md §4, `target: guide`) on the problem with a known optimum: the
// guide is the frozen model itself reading a prefix; the student learns it through its state
// alone. Through the guide interface in both forms: an RWKV guide (StateTuner's GuideTarget,
// KL to its distributions, over the questions or over the guide's own greedy text) and traces (the guide's own sampled text, cross-entropy on it, as
// trace files without log-probs give).
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <ATen/core/grad_mode.h>

#include "distillation.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/guide_examples.h"
#include "statetune/workers/state_tuner.h"

namespace statetune::workers {
namespace {

TuneOptions observer_options(int64_t steps, int64_t batch) {
  // Small matrices: one thread. Under `ctest -j2` two tests with two OpenMP threads each on 2
  // cores spin against each other and run 10x slower.
  at::set_num_threads(1);
  TuneOptions o;
  o.method = TuneMethod::kStandard;
  o.lr = 0.3;
  o.trainer.steps = steps;
  o.batch = batch;
  o.seed = 3;
  return o;
}

TEST(Observer, RwkvGuideFormRecoversThePrefixStateLikeTheRecoveryTest) {
  Distillation d(21);
  GuideTarget guide;
  guide.model = &d.model;
  guide.state = d.model.prompt_state(d.prefix);
  LocalCommunicator comm;
  TuneData data;
  data.train = d.train;
  StateTuner tuner(d.model, observer_options(kRecoverySteps, static_cast<int64_t>(d.train.size())), data, comm, &guide);
  const TrainResult r = tuner.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(tuner.state());
  std::printf("observer (RWKV guide): agreement %.3f, KL %.4f -> %.4f\n", after, r.history.front().loss,
              r.history.back().loss);
  EXPECT_GE(after, kRecoveryAgreement);
}

// `guide_generate_tokens`: the same guide writes its own text (greedy) after each training
// question, and the KL is over that text only, never the question's tokens.
TEST(Observer, RwkvGuideOverItsOwnGeneratedTextReachesTheRecoveryAgreement) {
  Distillation d(21);
  GuideTarget guide;
  guide.model = &d.model;
  guide.state = d.model.prompt_state(d.prefix);
  LocalCommunicator comm;
  std::vector<std::vector<int64_t>> questions;
  for (const TuneExample& q : d.train) questions.push_back(q.tokens);
  TuneData data;
  data.train = guide_written_examples(d.model, guide.state, questions, kObserverGeneratedTokens, 1024, comm);
  StateTuner tuner(d.model, observer_options(kRecoverySteps, static_cast<int64_t>(data.train.size())), data, comm,
                   &guide);
  const TrainResult r = tuner.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(tuner.state());
  std::printf("observer (RWKV guide over its own %lld greedy tokens): agreement %.3f, KL %.4f -> %.4f\n",
              static_cast<long long>(kObserverGeneratedTokens), after, r.history.front().loss, r.history.back().loss);
  EXPECT_GE(after, kRecoveryAgreement);
}

// A guide's trace of a question: what it writes (sampled) after reading the prefix and the
// question. No gold answer exists here at all; the student sees only the guide's text.
TuneExample guide_trace(const Distillation& d, const ModelState& guide_state, const TuneExample& question,
                        int tokens, uint64_t seed) {
  GenerationOptions g;
  g.max_tokens = tokens;
  g.temperature = 1.0;  // sampled traces cover the guide's distribution; greedy ones overfit
  g.top_p = 1.0;
  g.seed = seed;
  g.stop_token = -1;  // a fixed length: token 0 is just a token here
  const std::vector<int64_t> text = generate(d.model, question.tokens, guide_state, g, {});
  TuneExample e{question.tokens, std::vector<uint8_t>(question.tokens.size(), 0)};
  for (int64_t id : text) {
    e.tokens.push_back(id);
    e.is_target.push_back(1);
  }
  return e;
}

constexpr uint64_t kTracesPerQuestion = 16;

TEST(Observer, TraceFormLearnsTheGuidesBehaviourFromItsTextAlone) {
  Distillation d(21);
  const ModelState guide_state = d.model.prompt_state(d.prefix);
  TuneData data;
  for (uint64_t k = 0; k < kTracesPerQuestion; ++k)
    for (const TuneExample& q : d.train) data.train.push_back(guide_trace(d, guide_state, q, 24, k * 100 + data.train.size()));
  LocalCommunicator comm;
  StateTuner tuner(d.model, observer_options(2 * kRecoverySteps, 48), data, comm);
  TunedState zero(d.model.config(), false);
  const double before = d.agreement(zero);
  const TrainResult r = tuner.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(tuner.state());
  std::printf("observer (trace, CE on the guide's sampled text): agreement %.3f -> %.3f, CE %.4f -> %.4f\n", before,
              after, r.history.front().loss, r.history.back().loss);
  EXPECT_LT(r.history.back().loss, r.history.front().loss);
  EXPECT_GE(after, kObserverTraceAgreement);
}

// The same traces with the guide's top-k log-probs at each of their positions, as
// `guide-traces --top-k` writes them: the loss becomes the top-k KL.
TuneExample with_top_k(const Distillation& d, const ModelState& guide_state, TuneExample e, int64_t k) {
  at::NoGradGuard no_grad;
  const at::Tensor logp =
      at::log_softmax(d.model.forward(at::tensor(e.tokens, at::kLong).unsqueeze(0), at::Tensor(), &guide_state)[0], -1)
          .to(at::kDouble);
  e.guide_top_k.assign(e.tokens.size(), {});
  for (size_t t = 1; t < e.tokens.size(); ++t) {
    if (!e.is_target[t]) continue;
    const auto top = logp[static_cast<int64_t>(t) - 1].topk(k);
    for (int64_t j = 0; j < k; ++j)
      e.guide_top_k[t].emplace_back(std::get<1>(top)[j].item<int64_t>(), std::get<0>(top)[j].item<double>());
  }
  return e;
}

TEST(Observer, TraceFormWithTopKLogProbsReachesTheRecoveryAgreement) {
  Distillation d(21);
  const ModelState guide_state = d.model.prompt_state(d.prefix);
  TuneData data;
  for (uint64_t k = 0; k < 4; ++k)
    for (const TuneExample& q : d.train)
      data.train.push_back(with_top_k(d, guide_state, guide_trace(d, guide_state, q, 24, k * 100 + data.train.size()), 8));
  LocalCommunicator comm;
  StateTuner tuner(d.model, observer_options(kRecoverySteps, 24), data, comm);
  const TrainResult r = tuner.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(tuner.state());
  std::printf("observer (trace with top-8 log-probs, top-k KL): agreement -> %.3f, KL %.4f -> %.4f\n", after,
              r.history.front().loss, r.history.back().loss);
  EXPECT_LT(r.history.back().loss, 0.5 * r.history.front().loss);
  EXPECT_GE(after, kObserverTopKAgreement);
}

// With every id listed the top-k KL is the full KL.
TEST(Observer, TopKKlWithTheWholeVocabularyIsTheFullKl) {
  at::manual_seed(5);
  const int64_t B = 2, T = 3, V = 7;
  const at::Tensor student = at::randn({B, T, V}, at::kDouble);
  const at::Tensor teacher = at::log_softmax(at::randn({B, T, V}, at::kDouble), -1);
  const at::Tensor mask = at::tensor({1, 1, 0, 1, 0, 1}, at::kLong).to(at::kBool).view({B, T});
  const auto top = teacher.topk(V);
  const at::Tensor full = masked_kl(student, teacher, mask);
  const at::Tensor topk = masked_topk_kl(student, std::get<1>(top), std::get<0>(top).exp(), mask);
  EXPECT_NEAR(topk.item<double>(), full.item<double>(), 1e-12);
  // Fewer ids: a coarser comparison, never a larger divergence.
  const auto top3 = teacher.topk(3);
  EXPECT_LE(masked_topk_kl(student, std::get<1>(top3), std::get<0>(top3).exp(), mask).item<double>(),
            full.item<double>() + 1e-12);
}

// Its gradient w.r.t. the student's logits matches central finite differences (float64).
TEST(Observer, TopKKlGradientMatchesFiniteDifferences) {
  at::manual_seed(7);
  const int64_t B = 2, T = 2, V = 9, K = 3;
  const at::Tensor logits = at::randn({B, T, V}, at::kDouble).set_requires_grad(true);
  const auto top = at::log_softmax(at::randn({B, T, V}, at::kDouble), -1).topk(K);
  const at::Tensor ids = std::get<1>(top), probs = std::get<0>(top).exp();
  const at::Tensor mask = at::ones({B, T}, at::kBool);
  masked_topk_kl(logits, ids, probs, mask).backward();
  const at::Tensor grad = logits.grad().clone();
  at::NoGradGuard no_grad;
  const double h = 1e-6;
  double worst = 0;
  for (int64_t i = 0; i < logits.numel(); ++i) {
    at::Tensor plus = logits.detach().clone(), minus = logits.detach().clone();
    plus.view({-1})[i] += h;
    minus.view({-1})[i] -= h;
    const double fd = (masked_topk_kl(plus, ids, probs, mask).item<double>() -
                       masked_topk_kl(minus, ids, probs, mask).item<double>()) / (2 * h);
    worst = std::max(worst, std::abs(fd - grad.view({-1})[i].item<double>()));
  }
  EXPECT_LT(worst, 1e-7 * std::max(1.0, grad.abs().max().item<double>()));
}

}  // namespace
}  // namespace statetune::workers
