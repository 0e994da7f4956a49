// State tuning core: Adam, lr schedule, masked losses and batching, the trainer loop, and
// `standard` tuning recovering a prefix's state (the known optimum).
#include <gtest/gtest.h>

#include <cmath>
#include <ATen/core/grad_mode.h>

#include "finite_difference.h"
#include "distillation.h"
#include "small_config.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/lr_schedule.h"
#include "statetune/workers/tuned_state.h"
#include "statetune/workers/state_trainer.h"
#include "statetune/workers/tuning_loss.h"

namespace statetune::workers {
namespace {

TEST(Adam, MatchesTheClosedFormForTwoSteps) {
  at::Tensor p = at::tensor({1.0, -2.0}, at::kDouble);
  Adam adam({p});
  const at::Tensor g1 = at::tensor({0.5, 0.1}, at::kDouble), g2 = at::tensor({-0.2, 0.3}, at::kDouble);
  adam.step({g1}, {0.1});
  adam.step({g2}, {0.05});
  for (int i = 0; i < 2; ++i) {
    double x = i == 0 ? 1.0 : -2.0, m = 0, v = 0;
    const double gs[] = {g1[i].item<double>(), g2[i].item<double>()}, lrs[] = {0.1, 0.05};
    for (int t = 1; t <= 2; ++t) {
      m = 0.9 * m + 0.1 * gs[t - 1];
      v = 0.99 * v + 0.01 * gs[t - 1] * gs[t - 1];
      x -= lrs[t - 1] * (m / (1 - std::pow(0.9, t))) / (std::sqrt(v / (1 - std::pow(0.99, t))) + 1e-8);
    }
    EXPECT_NEAR(p[i].item<double>(), x, 1e-15);
  }
}

TEST(LrSchedule, WarmupThenCosineToTheFinalRatio) {
  LrScheduleOptions o;
  o.warmup_steps = 3;
  o.final_ratio = 0.01;
  EXPECT_DOUBLE_EQ(lr_multiplier(o, 0, 12), 0.25);
  EXPECT_DOUBLE_EQ(lr_multiplier(o, 2, 12), 0.75);
  EXPECT_DOUBLE_EQ(lr_multiplier(o, 3, 12), 1.0);
  EXPECT_NEAR(lr_multiplier(o, 7, 12), 0.505, 1e-12);  // halfway through the decay
  EXPECT_NEAR(lr_multiplier(o, 11, 12), 0.01, 1e-15);
  o.kind = LrSchedule::kConstant;
  EXPECT_DOUBLE_EQ(lr_multiplier(o, 10, 13), 1.0);
  EXPECT_THROW(parse_lr_schedule("linear"), std::exception);
}

TEST(TuningLoss, PaddedBatchLossEqualsPerExampleLossesAndMasksNonTargets) {
  Rwkv7Model model(init_random_model(testing::small_config(2, 97), 3), "random", at::kDouble);
  std::vector<TuneExample> ex{{{0, 5, 6, 7, 8, 9}, {0, 0, 0, 1, 1, 1}}, {{0, 11, 12}, {0, 1, 1}}};
  TuneBatch batch = make_batch(ex);
  EXPECT_EQ(batch.inputs.sizes(), (at::IntArrayRef{2, 5}));
  EXPECT_EQ(batch.mask.sum().item<int64_t>(), 5);
  at::Tensor logits = model.forward(batch.inputs, batch.lengths);
  const double batch_loss = masked_cross_entropy(logits, batch.targets, batch.mask).item<double>();
  // By hand: the mean of -log p(target) over the 5 target positions, each example alone.
  double sum = 0;
  for (const auto& e : ex) {
    TuneBatch one = make_batch({e});
    at::Tensor lp = at::log_softmax(model.forward(one.inputs), -1)[0];
    for (size_t t = 1; t < e.tokens.size(); ++t)
      if (e.is_target[t]) sum -= lp[t - 1][e.tokens[t]].item<double>();
  }
  EXPECT_NEAR(batch_loss, sum / 5, 1e-12);
}

TEST(StandardTuning, LossGradientWrtS0MatchesFiniteDifferences) {
  Rwkv7Model model(init_random_model(testing::small_config(2, 97), 4), "random", at::kDouble);
  TunedState state(model.config(), /*tune_shift=*/false, at::kDouble);
  at::manual_seed(2);
  for (auto& s : state.wkv()) s.detach().normal_(0, 0.2);  // away from zero, where the loss is generic
  TuneBatch batch = make_batch({{{0, 5, 6, 7, 8, 9}, {0, 0, 1, 1, 1, 1}}, {{0, 11, 12, 13}, {0, 1, 1, 1}}});
  auto loss = [&] {
    ModelState init = state.initial_state();
    return masked_cross_entropy(model.forward(batch.inputs, batch.lengths, &init), batch.targets, batch.mask);
  };
  loss().backward();
  for (size_t l = 0; l < state.wkv().size(); ++l) {
    at::Tensor flat = state.wkv()[l].detach().view({-1});
    at::Tensor grad = state.wkv()[l].grad().view({-1});
    const double worst = compare_with_central_differences(flat, grad, loss, 29, 1e-6, /*floor=*/1).worst;
    EXPECT_LT(worst, 1e-6) << "layer " << l;
  }
}

TEST(StateTrainer, NanLossStopsTheRunWithoutTouchingTheState) {
  at::Tensor p = at::ones({3}).set_requires_grad(true);
  LocalCommunicator comm;
  TrainerOptions o;
  o.steps = 5;
  TrainResult r = train_state({p}, {0.1}, o, comm, [&](int64_t step, int64_t) {
    at::Tensor l = (p * p).sum();
    return MicroBatchLoss{step == 2 ? l * NAN : l, 3};
  });
  EXPECT_EQ(r.status, TrainStatus::kDiverged);
  EXPECT_NE(r.message.find("step 2"), std::string::npos) << r.message;
  EXPECT_EQ(r.history.size(), 2u);
  EXPECT_TRUE(at::isfinite(p).all().item<bool>());
}

TEST(StandardTuning, PromptInitWithTheFullStateReproducesTheTeacher) {
  Distillation d(21);
  TunedState s = TunedState::from_model_state(d.model.prompt_state(d.prefix), /*tune_shift=*/true);
  at::NoGradGuard no_grad;
  TuneBatch b = make_batch(d.eval);
  ModelState init = s.initial_state();
  at::Tensor student = at::log_softmax(d.model.forward(b.inputs, b.lengths, &init), -1);
  EXPECT_LT((student - d.eval_teacher).abs().max().item<double>(), 1e-5);
  EXPECT_DOUBLE_EQ(d.agreement(s), 1.0);
}

TEST(StandardTuning, RecoversThePrefixStateFromZero) {
  Distillation d(21);
  TunedState s(d.model.config(), /*tune_shift=*/false);
  const double before = d.agreement(s);
  TrainResult r = d.tune(s, kRecoverySteps, 0.3);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(s);
  std::printf("standard: agreement %.3f -> %.3f, KL %.4f -> %.4f\n", before, after, r.history.front().loss,
              r.history.back().loss);
  EXPECT_NEAR(before, kZeroStateAgreement, 0.0251);
  EXPECT_LT(r.history.back().loss, 0.2 * r.history.front().loss);
  EXPECT_GE(after, kRecoveryAgreement);
}

TEST(StandardTuning, RecoversThePrefixStateFromZeroWithShiftTuned) {
  Distillation d(21);
  TunedState s(d.model.config(), /*tune_shift=*/true);
  TrainResult r = d.tune(s, kRecoverySteps, 0.3);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(s);
  std::printf("standard + shift: agreement -> %.3f, KL %.4f -> %.4f\n", after, r.history.front().loss,
              r.history.back().loss);
  EXPECT_LT(r.history.back().loss, 0.2 * r.history.front().loss);
  EXPECT_GE(after, kRecoveryAgreementShift);
}

TEST(StandardTuning, SameSeedGivesBitIdenticalStates) {
  Distillation d1(21), d2(21);
  TunedState a(d1.model.config(), false), b(d2.model.config(), false);
  d1.tune(a, 5, 0.3);
  d2.tune(b, 5, 0.3);
  for (size_t l = 0; l < a.wkv().size(); ++l) EXPECT_TRUE(at::equal(a.wkv()[l], b.wkv()[l])) << l;
}

}  // namespace
}  // namespace statetune::workers
