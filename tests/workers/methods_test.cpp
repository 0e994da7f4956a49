// The kernel and dbp methods (METHOD.md §2-3) inside the model and the tuner: exactness at
// Ŝ = 0, gradients against finite differences, DBP's limits, step mode, state files, resume.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <ATen/core/grad_mode.h>

#include "finite_difference.h"
#include "small_config.h"
#include "test_paths.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/kernel_calibration.h"
#include "statetune/workers/state_file.h"
#include "statetune/workers/state_tuner.h"
#include "statetune/workers/support_vectors.h"

namespace statetune::workers {
namespace {

std::vector<TuneExample> random_examples(int64_t count, int64_t len, uint64_t seed, int64_t vocab = 97) {
  at::manual_seed(seed);
  std::vector<TuneExample> out;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t n = len - (i % 3);  // different lengths: padding is exercised
    TuneExample e{{0}, {0}};
    at::Tensor r = at::randint(1, vocab, {n}, at::kLong);
    for (int64_t t = 0; t < n; ++t) {
      e.tokens.push_back(r[t].item<int64_t>());
      e.is_target.push_back(t >= n / 2);
    }
    out.push_back(e);
  }
  return out;
}

std::vector<std::vector<int64_t>> prompts_of(const std::vector<TuneExample>& ex) {
  std::vector<std::vector<int64_t>> p;
  for (const auto& e : ex) p.push_back(e.tokens);
  return p;
}

KernelBuffers calibrated(const Rwkv7Model& model, const std::vector<TuneExample>& ex, int64_t M) {
  KernelCalibrationOptions o;
  o.M = M;
  o.seed = 11;
  return calibrate_kernel_readout(model, prompts_of(ex), nullptr, o).buffers;
}

at::Tensor batch_loss(const Rwkv7Model& model, const TunedState& state, const TuneBatch& b) {
  const ModelState init = state.initial_state();
  return masked_cross_entropy(model.forward(b.inputs, b.lengths, &init), b.targets, b.mask);
}

struct Fixture {
  Rwkv7Model model{init_random_model(testing::small_config(2, 97), 4), "random", at::kDouble};
  std::vector<TuneExample> examples = random_examples(8, 12, 5);
};

TEST(KernelMethod, ZeroKernelStateReproducesStandardLossAndGradientExactly) {
  Fixture f;
  const TuneBatch b = make_batch(f.examples);
  TunedState standard(f.model.config(), false, at::kDouble), kernel(f.model.config(), false, at::kDouble);
  at::manual_seed(3);
  for (size_t l = 0; l < standard.wkv().size(); ++l) {
    at::NoGradGuard g;
    standard.wkv()[l].normal_(0, 0.3);
    kernel.wkv()[l].copy_(standard.wkv()[l]);
  }
  kernel.add_kernel_readout(calibrated(f.model, f.examples, 8), /*linear=*/true);
  const at::Tensor ls = batch_loss(f.model, standard, b), lk = batch_loss(f.model, kernel, b);
  EXPECT_EQ(ls.item<double>(), lk.item<double>());
  ls.backward();
  lk.backward();
  for (size_t l = 0; l < standard.wkv().size(); ++l)
    EXPECT_TRUE(at::equal(standard.wkv()[l].grad(), kernel.wkv()[l].grad())) << "layer " << l;
  // ...and Ŝ does get a gradient: the read-out is live.
  EXPECT_GT(kernel.s_hat()[0].grad().abs().max().item<double>(), 0);
}

// Central finite differences of the loss against autograd, on a sample of entries.
void expect_gradient_matches_fd(const Rwkv7Model& model, TunedState& state, const at::Tensor& param,
                                const TuneBatch& b, const char* what) {
  for (auto& p : state.parameters())
    if (p.grad().defined()) p.mutable_grad().zero_();
  batch_loss(model, state, b).backward();
  at::Tensor flat = param.detach().view({-1});
  const at::Tensor grad = param.grad().view({-1}).clone();
  const auto [worst, largest] = compare_with_central_differences(
      flat, grad, [&] { return batch_loss(model, state, b); }, 37, 1e-6, /*floor=*/1e-3);
  EXPECT_GT(largest, 1e-6) << what << ": the sampled gradient is all zero, the check would be empty";
  EXPECT_LT(worst, 1e-5) << what;
}

TEST(KernelMethod, LossGradientWrtKernelStateMatchesFiniteDifferences) {
  Fixture f;
  const TuneBatch b = make_batch(f.examples);
  for (bool dbp_like : {false, true}) {
    TunedState s(f.model.config(), false, at::kDouble);
    s.add_kernel_readout(calibrated(f.model, f.examples, 8), true);
    at::manual_seed(6);
    {
      at::NoGradGuard g;
      for (auto& p : s.parameters()) p.normal_(0, 0.3);  // a generic point, Ŝ ≠ 0
      if (dbp_like)  // a non-identity R, as DBP leaves it
        for (auto& R : s.decorrelation()) R = R + 0.2 * at::randn_like(R);
    }
    for (size_t l = 0; l < s.s_hat().size(); ++l)
      expect_gradient_matches_fd(f.model, s, s.s_hat()[l], b, dbp_like ? "dŜ with R != I" : "dŜ");
    expect_gradient_matches_fd(f.model, s, s.wkv()[0], b, "dS0 beside the kernel read-out");
  }
}

TEST(KernelMethod, LinearFalseTunesOnlyTheKernelState) {
  Fixture f;
  TunedState s(f.model.config(), false, at::kDouble);
  s.add_kernel_readout(calibrated(f.model, f.examples, 8), /*linear=*/false);
  EXPECT_EQ(s.parameters().size(), s.s_hat().size());
  EXPECT_EQ(s.learning_rates(1.0, 0.01), std::vector<double>(s.s_hat().size(), 0.01));
}

TEST(KernelMethod, StepModeCarriesTheTransportAndMatchesSequenceMode) {
  Fixture f;
  TunedState s(f.model.config(), false, at::kDouble);
  s.add_kernel_readout(calibrated(f.model, f.examples, 8), true);
  {
    at::NoGradGuard g;
    at::manual_seed(8);
    for (auto& p : s.parameters()) p.normal_(0, 0.3);
  }
  at::NoGradGuard g;
  const std::vector<int64_t> tokens = f.examples[0].tokens;
  ModelState init = s.initial_state();
  const at::Tensor seq = f.model.forward(at::tensor(tokens, at::kLong).unsqueeze(0), at::Tensor(), &init)[0];
  ModelState state = init;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const at::Tensor logits = f.model.step(at::tensor({tokens[t]}, at::kLong), state)[0];
    EXPECT_TRUE(at::allclose(logits, seq[static_cast<int64_t>(t)], 1e-9, 1e-9)) << "token " << t;
  }
}

TEST(KernelMethod, StateFileRoundTripsTheReadout) {
  Fixture f;
  TunedState s(f.model.config(), /*tune_shift=*/true, at::kDouble);
  s.add_kernel_readout(calibrated(f.model, f.examples, 8), true);
  {
    at::NoGradGuard g;
    at::manual_seed(9);
    for (auto& p : s.parameters()) p.normal_(0, 0.3);
    s.decorrelation()[1] = s.decorrelation()[1] * 0.5;
  }
  const std::string path = testing::temp_dir("kernel_state") + "/kernel_state.pth";
  save_state_file(path, s.initial_state(), f.model.config());
  const ModelState back = load_state_file(path, f.model.config(), at::kDouble);
  const TuneBatch b = make_batch(f.examples);
  at::NoGradGuard g;
  const ModelState mine = s.initial_state();
  const at::Tensor a = f.model.forward(b.inputs, b.lengths, &mine);
  const at::Tensor c = f.model.forward(b.inputs, b.lengths, &back);
  EXPECT_TRUE(at::allclose(a, c, 1e-5, 1e-5));  // float32 in the file
  ASSERT_TRUE(back[1].readout.has_value());
  EXPECT_TRUE(at::allclose(back[1].readout->R, mine[1].readout->R.to(at::kFloat).to(at::kDouble)));
  // A standard-only runtime still finds the RWKV-PEFT keys.
  EXPECT_EQ(load_time_states(path, f.model.config()).size(), 2u);
}

TEST(SupportVectors, KMeansFindsWellSeparatedClustersAndIsDeterministic) {
  at::manual_seed(1);
  const at::Tensor centres = at::eye(4, at::kDouble);
  at::Tensor X = (centres.repeat({50, 1}) + 0.05 * at::randn({200, 4}, at::kDouble));
  X = X / X.norm(2, 1, true);
  const at::Tensor C = spherical_kmeans(X, 4, 10, 3);
  EXPECT_TRUE(at::equal(C, spherical_kmeans(X, 4, 10, 3)));
  // Every true centre has a support vector within a small angle.
  const at::Tensor best = std::get<0>(C.matmul(centres.t()).max(0));
  EXPECT_GT(best.min().item<double>(), 0.99) << C;
  EXPECT_TRUE(at::allclose(C.norm(2, 1), at::ones({4}, at::kDouble)));
  EXPECT_THROW(spherical_kmeans(X.narrow(0, 0, 3), 4, 10, 3), std::exception);
}

TEST(SupportVectors, MedianHeuristicIsTheLowerMedian) {
  const at::Tensor X = at::tensor({1.0, 0.0, 0.0, 1.0, -1.0, 0.0}, at::kDouble).view({3, 2});
  const at::Tensor C = at::tensor({1.0, 0.0}, at::kDouble).view({1, 2});
  EXPECT_DOUBLE_EQ(median_sq_distance(X, C), 2.0);  // distances 0, 2, 4
}

TuneOptions tune_options(TuneMethod method, int64_t steps) {
  TuneOptions o;
  o.method = method;
  o.kernel.M = 8;
  o.lr = 0.1;
  o.lr_kernel = 0.01;
  o.trainer.steps = steps;
  o.batch = 3;
  o.seed = 7;
  o.dbp.lambda = 1.0;
  return o;
}

TuneData tune_data(const std::vector<TuneExample>& ex) { return {ex, prompts_of(ex)}; }

TEST(DbpMethod, LambdaZeroReproducesKernelExactly) {
  Fixture f;
  LocalCommunicator comm;
  TuneOptions k = tune_options(TuneMethod::kKernel, 6), d = tune_options(TuneMethod::kDbp, 6);
  d.dbp.lambda = 0;
  StateTuner a(f.model, k, tune_data(f.examples), comm), b(f.model, d, tune_data(f.examples), comm);
  const TrainResult ra = a.run(false), rb = b.run(false);
  ASSERT_EQ(ra.history.size(), rb.history.size());
  for (size_t i = 0; i < ra.history.size(); ++i) EXPECT_EQ(ra.history[i].loss, rb.history[i].loss) << "step " << i;
  for (size_t l = 0; l < a.state().s_hat().size(); ++l) {
    EXPECT_TRUE(at::equal(a.state().s_hat()[l], b.state().s_hat()[l]));
    EXPECT_TRUE(at::equal(a.state().wkv()[l], b.state().wkv()[l]));
  }
  EXPECT_TRUE(std::isfinite(rb.history.back().l_decor));  // logged even when R does not move
}

TEST(DbpMethod, ClipKeepsRAndTheLossFiniteWithALambdaFarTooLarge) {
  Fixture f;
  LocalCommunicator comm;
  TuneOptions d = tune_options(TuneMethod::kDbp, 60);  // the demo's length
  d.dbp.lambda = 300;                                  // 100x past the useful range
  StateTuner t(f.model, d, tune_data(f.examples), comm);
  const TrainResult r = t.run(false);
  EXPECT_EQ(r.status, TrainStatus::kDone) << r.message;
  ASSERT_EQ(r.history.size(), 60u);
  for (const auto& m : r.history) EXPECT_TRUE(std::isfinite(m.loss) && std::isfinite(m.l_decor)) << m.step;
  for (const auto& R : t.state().decorrelation()) EXPECT_TRUE(at::isfinite(R).all().item<bool>());
  // R did move: the clip bounds the step, it does not freeze R.
  EXPECT_GT((t.state().decorrelation()[0] - at::eye(8, at::kDouble)).abs().max().item<double>(), 0.1);
}

TEST(DbpMethod, DecorrelatesTheFeaturesDuringTuning) {
  Fixture f;
  LocalCommunicator comm;
  TuneOptions d = tune_options(TuneMethod::kDbp, 40);
  d.dbp.lambda = 3;
  StateTuner t(f.model, d, tune_data(f.examples), comm);
  const TrainResult r = t.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  EXPECT_LT(r.history.back().l_decor, 0.5 * r.history.front().l_decor);
}

TEST(StateTunerResume, StopAndResumeIsBitIdenticalToAnUninterruptedRun) {
  Fixture f;
  LocalCommunicator comm;
  for (TuneMethod method : {TuneMethod::kStandard, TuneMethod::kDbp}) {
    const std::string dir = testing::temp_dir(std::string("resume_") + tune_method_name(method));
    std::filesystem::create_directories(dir);
    TuneOptions o = tune_options(method, 10);
    o.tune_shift = method == TuneMethod::kStandard;
    o.trainer.accumulation = 2;
    StateTuner whole(f.model, o, tune_data(f.examples), comm);
    const TrainResult whole_result = whole.run(false);
    ASSERT_EQ(whole_result.status, TrainStatus::kDone);

    o.checkpoint_path = dir + "/ckpt.pth";
    o.fingerprint = 0xABCDEF;
    std::filesystem::remove(o.checkpoint_path);
    StateTuner first(f.model, o, tune_data(f.examples), comm);
    int64_t steps_seen = 0;
    const TrainResult stopped = first.run(false, [&](const StepMetrics&) {
      if (++steps_seen == 4) first.request_stop();
    });
    ASSERT_EQ(stopped.status, TrainStatus::kStopped) << stopped.message;
    StateTuner second(f.model, o, tune_data(f.examples), comm);
    const TrainResult rest = second.run(true);
    ASSERT_EQ(rest.status, TrainStatus::kDone) << rest.message;
    EXPECT_EQ(second.resumed_from(), 4);
    ASSERT_EQ(rest.history.size(), 10u) << "the whole curve: 4 steps from the checkpoint, 6 run now";
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_EQ(rest.history[i].step, static_cast<int64_t>(i));
      EXPECT_EQ(rest.history[i].loss, whole_result.history[i].loss) << "step " << i;
    }
    const auto pw = whole.state().parameters(), pr = second.state().parameters();
    ASSERT_EQ(pw.size(), pr.size());
    for (size_t i = 0; i < pw.size(); ++i) EXPECT_TRUE(at::equal(pw[i], pr[i])) << tune_method_name(method) << " " << i;
    for (size_t l = 0; l < whole.state().decorrelation().size(); ++l)
      EXPECT_TRUE(at::equal(whole.state().decorrelation()[l], second.state().decorrelation()[l]));

    o.fingerprint = 0x1234;  // another configuration must not pick this checkpoint up
    StateTuner other(f.model, o, tune_data(f.examples), comm);
    EXPECT_THROW(other.run(true), std::exception);
  }
}

TEST(InitPrompt, FullPromptStateReproducesTheTeachersLogits) {
  Rwkv7Model model(init_random_model(testing::small_config(2, 97), 4), "random");
  const std::vector<int64_t> prefix{0, 5, 17, 33, 2, 8, 61, 40};
  const std::vector<int64_t> question{12, 13, 14, 15, 16};
  at::NoGradGuard g;
  std::vector<int64_t> joined = prefix;
  joined.insert(joined.end(), question.begin(), question.end());
  const at::Tensor teacher = model.forward(at::tensor(joined, at::kLong).unsqueeze(0))[0].narrow(
      0, static_cast<int64_t>(prefix.size()), static_cast<int64_t>(question.size()));
  LocalCommunicator comm;
  TuneOptions o;
  o.init_prompt = prefix;
  o.tune_shift = true;  // the full state: WKV and both token shifts
  StateTuner tuner(model, o, {random_examples(1, 4, 1), {}}, comm);
  const ModelState init = tuner.state().initial_state();
  const at::Tensor student = model.forward(at::tensor(question, at::kLong).unsqueeze(0), at::Tensor(), &init)[0];
  EXPECT_LT((student - teacher).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace statetune::workers
