// bf16 weights (the default on a GPU) against fp32 weights, on the CPU: the same random model
// reads the same batch from the same tuned S0. The logits, the loss and dS0 stay within the
// tolerances below (the figures are printed), while the state, the logits, the loss and dS0
// stay fp32 and the weights take half the memory.
#include <gtest/gtest.h>

#include <cstdio>

#include "small_config.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/tuning_loss.h"

namespace statetune::workers {
namespace {

// Relative to the fp32 values' own scale (max |x| for logits, the norm for dS0). bf16 keeps 8
// bits of mantissa (relative rounding 2^-9 ≈ 2e-3 per value); over two layers of matmuls and
// elementwise ops in bf16 that compounds to about 1e-2 (printed figures: see the test output).
constexpr double kLogitsTolerance = 3e-2;  // max |Δlogit| / max |logit|
constexpr double kLossTolerance = 1e-2;    // |Δloss| / loss
constexpr double kGradTolerance = 5e-2;    // ‖ΔdS0‖ / ‖dS0‖

struct Pass {
  at::Tensor logits, loss, ds0;
};

Pass run(const Rwkv7Model& model, const TuneBatch& b, const at::Tensor& s0_values) {
  const at::Tensor s0 = s0_values.clone().set_requires_grad(true);
  ModelState init(static_cast<size_t>(model.config().n_layer));
  for (auto& layer : init) layer.wkv = s0;  // one S0 shared by the layers: dS0 sums them all
  Pass p;
  p.logits = model.forward(b.inputs, b.lengths, &init);
  p.loss = masked_cross_entropy(p.logits, b.targets, b.mask);
  p.loss.backward();
  p.ds0 = s0.grad();
  return p;
}

TEST(WeightsPrecision, Bf16WeightsStayWithinTolerancesOfFp32) {
  const ModelConfig c = testing::small_config(2, 97);
  const TensorMap weights = init_random_model(c, 21);
  const Rwkv7Model fp32(weights, "random"), bf16(weights, "random", at::kBFloat16);
  EXPECT_EQ(bf16.dtype(), at::kBFloat16);
  EXPECT_EQ(bf16.state_dtype(), at::kFloat);
  EXPECT_EQ(2 * bf16.weight_bytes(), fp32.weight_bytes());

  std::vector<TuneExample> ex;
  at::manual_seed(5);
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t n = 48 - 7 * i;
    const at::Tensor r = at::randint(1, c.vocab_size, {n}, at::kLong);
    TuneExample e{{0}, {0}};
    for (int64_t t = 0; t < n; ++t) {
      e.tokens.push_back(r[t].item<int64_t>());
      e.is_target.push_back(t >= n / 3);
    }
    ex.push_back(e);
  }
  const TuneBatch b = make_batch(ex);
  const at::Tensor s0 = at::randn({c.n_head, c.head_size, c.head_size}, at::kFloat) * 0.3;

  const Pass a = run(fp32, b, s0), h = run(bf16, b, s0);
  for (const at::Tensor* t : {&h.logits, &h.loss, &h.ds0}) EXPECT_EQ(t->scalar_type(), at::kFloat);

  const at::Tensor mask = b.mask.unsqueeze(-1).expand_as(a.logits);  // real positions only
  const double logits_err = (h.logits - a.logits).masked_select(mask).abs().max().item<double>() /
                            a.logits.masked_select(mask).abs().max().item<double>();
  const double loss_err = std::abs(h.loss.item<double>() - a.loss.item<double>()) / a.loss.item<double>();
  const double grad_err = ((h.ds0 - a.ds0).norm() / a.ds0.norm()).item<double>();
  std::printf("bf16 vs fp32 weights (L=2 C=64, 3 sequences of up to 48 tokens): logits %.3g, loss %.3g (%.5f vs %.5f), "
              "dS0 %.3g (relative)\n",
              logits_err, loss_err, h.loss.item<double>(), a.loss.item<double>(), grad_err);
  EXPECT_LT(logits_err, kLogitsTolerance);
  EXPECT_LT(loss_err, kLossTolerance);
  EXPECT_LT(grad_err, kGradTolerance);
  // bf16 is really in effect: the results differ from fp32's.
  EXPECT_GT(logits_err, 1e-5);
  EXPECT_GT(grad_err, 1e-5);
}

TEST(WeightsPrecision, Bf16FinalStateIsFp32AndMatchesFp32) {
  const ModelConfig c = testing::small_config(2, 97);
  const TensorMap weights = init_random_model(c, 22);
  const Rwkv7Model fp32(weights, "random"), bf16(weights, "random", at::kBFloat16);
  const at::Tensor tokens = at::randint(1, c.vocab_size, {2, 20}, at::kLong);
  ModelState s32, s16;
  fp32.forward(tokens, at::Tensor(), nullptr, &s32);
  bf16.forward(tokens, at::Tensor(), nullptr, &s16);
  for (size_t l = 0; l < s16.size(); ++l) {
    for (auto [x, y] : {std::pair{&s16[l].wkv, &s32[l].wkv}, {&s16[l].att_shift, &s32[l].att_shift},
                        {&s16[l].ffn_shift, &s32[l].ffn_shift}}) {
      EXPECT_EQ(x->scalar_type(), at::kFloat);
      EXPECT_LT(((*x - *y).norm() / y->norm()).item<double>(), kGradTolerance) << "layer " << l;
    }
  }
}

}  // namespace
}  // namespace statetune::workers
