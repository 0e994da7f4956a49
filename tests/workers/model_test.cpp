// The RWKV-7 model: golden parity with the official implementation, sequence vs step mode,
// padding, and gradients with respect to the initial state.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "statetune/common/npy.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/state_file.h"
#include "finite_difference.h"
#include "small_config.h"
#include "test_paths.h"

namespace statetune::workers {
namespace {

ModelConfig tiny_config() { return testing::small_config(/*layers=*/3, /*vocab=*/97); }

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor golden_tokens(const std::string& path) {
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  std::vector<int64_t> ids = j.at("tokens").get<std::vector<int64_t>>();
  return at::tensor(ids, at::kLong).unsqueeze(0);
}

at::Tensor npy_tensor(const std::string& path) {
  NpyArray arr = read_npy(path);
  return at::tensor(arr.values, at::kDouble).view(arr.shape);
}

TEST(Rwkv7Golden, ReproducesOfficialLogitsFromZeroState) {
  SHARED_OR_SKIP(model_path, "fixtures/rwkv7-tiny/model.pth");
  const std::string dir = testing::shared_path("fixtures/rwkv7-tiny/");
  Rwkv7Model model = Rwkv7Model::load(model_path);
  at::Tensor logits = model.forward(golden_tokens(dir + "tokens.json")).squeeze(0);
  at::Tensor want = npy_tensor(dir + "logits.npy");
  ASSERT_EQ(logits.sizes(), want.sizes());
  EXPECT_LT(max_abs_diff(logits, want), 1e-4);
}

TEST(Rwkv7Golden, ReproducesOfficialLogitsFromTunedState) {
  SHARED_OR_SKIP(model_path, "fixtures/rwkv7-tiny/model.pth");
  const std::string dir = testing::shared_path("fixtures/rwkv7-tiny/");
  Rwkv7Model model = Rwkv7Model::load(model_path);
  std::vector<at::Tensor> states = load_time_states(dir + "state.pth", model.config());
  ModelState initial(model.config().n_layer);
  for (size_t l = 0; l < states.size(); ++l) initial[l].wkv = states[l];
  at::Tensor logits = model.forward(golden_tokens(dir + "tokens.json"), at::Tensor(), &initial).squeeze(0);
  at::Tensor want = npy_tensor(dir + "logits_state.npy");
  EXPECT_LT(max_abs_diff(logits, want), 1e-4);
  // And the state matters: the zero-state logits differ by far more than the tolerance.
  EXPECT_GT(max_abs_diff(logits, npy_tensor(dir + "logits.npy")), 1e-2);
}

ModelState random_state(const ModelConfig& c, int64_t batch, uint64_t seed) {
  at::manual_seed(seed);
  ModelState s(c.n_layer);
  for (auto& l : s) {
    l.att_shift = at::randn({batch, c.n_embd});
    l.wkv = at::randn({batch, c.n_head, c.head_size, c.head_size}) * 0.2;
    l.ffn_shift = at::randn({batch, c.n_embd});
  }
  return s;
}

TEST(Rwkv7Modes, SequenceModeEqualsStepMode) {
  Rwkv7Model model(init_random_model(tiny_config(), 5), "random");
  const int64_t B = 2, T = 19;
  at::manual_seed(1);
  at::Tensor tokens = at::randint(0, 97, {B, T}, at::kLong);
  ModelState initial = random_state(model.config(), B, 2);
  ModelState seq_final;
  at::Tensor seq = model.forward(tokens, at::Tensor(), &initial, &seq_final);
  ModelState state = initial;
  for (int64_t t = 0; t < T; ++t) {
    at::Tensor step = model.step(tokens.select(1, t), state);
    EXPECT_LT(max_abs_diff(step, seq.select(1, t)), 1e-5) << "t=" << t;
  }
  for (int64_t l = 0; l < model.config().n_layer; ++l) {
    EXPECT_LT(max_abs_diff(state[l].wkv, seq_final[l].wkv), 1e-5);
    EXPECT_LT(max_abs_diff(state[l].att_shift, seq_final[l].att_shift), 1e-5);
    EXPECT_LT(max_abs_diff(state[l].ffn_shift, seq_final[l].ffn_shift), 1e-5);
  }
}

TEST(Rwkv7Modes, PaddedBatchEqualsUnpaddedSequences) {
  Rwkv7Model model(init_random_model(tiny_config(), 6), "random");
  const std::vector<int64_t> lengths{5, 12, 1};
  const int64_t T = 12;
  at::manual_seed(3);
  at::Tensor tokens = at::randint(0, 97, {3, T}, at::kLong);
  ModelState shared_init(model.config().n_layer);
  for (auto& l : shared_init) l.wkv = at::randn({4, 16, 16}) * 0.2;  // shared [H, N, N]
  ModelState batch_final;
  at::Tensor batch =
      model.forward(tokens, at::tensor(lengths, at::kLong), &shared_init, &batch_final);
  for (int64_t b = 0; b < 3; ++b) {
    ModelState single_final;
    at::Tensor single = model.forward(tokens.narrow(0, b, 1).narrow(1, 0, lengths[b]), at::Tensor(), &shared_init,
                                      &single_final);
    EXPECT_LT(max_abs_diff(batch.narrow(0, b, 1).narrow(1, 0, lengths[b]), single), 1e-5) << "sequence " << b;
    for (int64_t l = 0; l < model.config().n_layer; ++l) {
      EXPECT_LT(max_abs_diff(batch_final[l].wkv[b], single_final[l].wkv[0]), 1e-5) << "b=" << b << " l=" << l;
      EXPECT_LT(max_abs_diff(batch_final[l].att_shift[b], single_final[l].att_shift[0]), 1e-5);
      EXPECT_LT(max_abs_diff(batch_final[l].ffn_shift[b], single_final[l].ffn_shift[0]), 1e-5);
    }
  }
}

// The model's loss gradient w.r.t. every layer's S0 (weights frozen) against central finite
// differences, in float64.
TEST(Rwkv7Gradients, InitialStateGradientMatchesFiniteDifferences) {
  Rwkv7Model model(init_random_model(tiny_config(), 7), "random", at::kDouble);
  at::manual_seed(4);
  at::Tensor tokens = at::randint(0, 97, {2, 6}, at::kLong);
  at::Tensor weights_of_logits = at::randn({2, 6, 97}, at::kDouble);
  ModelState s0(model.config().n_layer);
  for (auto& l : s0) l.wkv = (at::randn({4, 16, 16}, at::kDouble) * 0.2).set_requires_grad(true);
  auto loss = [&]() { return (model.forward(tokens, at::Tensor(), &s0) * weights_of_logits).sum(); };
  loss().backward();
  const double eps = 1e-6;
  for (int64_t l = 0; l < model.config().n_layer; ++l) {
    at::Tensor grad = s0[l].wkv.grad().view({-1});
    ASSERT_GT(grad.abs().max().item<double>(), 0.0) << "layer " << l << " gets no gradient";
    at::Tensor flat = s0[l].wkv.detach().view({-1});  // shares storage with s0[l].wkv
    const double worst = compare_with_central_differences(flat, grad, loss, 37, eps, /*floor=*/1).worst;
    EXPECT_LT(worst, 1e-6) << "layer " << l;
  }
  for (const auto& [key, t] : init_random_model(tiny_config(), 7)) EXPECT_FALSE(t.requires_grad()) << key;
}

// A random model of init-model is not degenerate: activations stay O(1) through depth and
// the logits are not flat.
TEST(Rwkv7RandomModel, LogitsAreNotDegenerate) {
  ModelConfig c = tiny_config();
  c.n_layer = 8;
  Rwkv7Model model(init_random_model(c, 9), "random");
  at::manual_seed(5);
  at::Tensor logits = model.forward(at::randint(0, 97, {1, 32}, at::kLong));
  const double std = logits.std().item<double>();
  EXPECT_GT(std, 0.1);
  EXPECT_LT(std, 100.0);
  EXPECT_TRUE(at::isfinite(logits).all().item<bool>());
}

}  // namespace
}  // namespace statetune::workers
