// Tuned-state files: round trips in both formats, layer/shape checks, other keys ignored, and
// the golden fixture's RWKV-PEFT state file.
#include <gtest/gtest.h>

#include "statetune/common/error.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/state_file.h"
#include "small_config.h"
#include "expect_error.h"
#include "test_paths.h"

namespace statetune::workers {
namespace {

ModelConfig state_config() { return testing::small_config(); }

std::vector<at::Tensor> random_states(int64_t layers) {
  std::vector<at::Tensor> s;
  for (int64_t i = 0; i < layers; ++i) s.push_back(at::randn({4, 16, 16}));
  return s;
}

using testing::expect_error;

TEST(StateFile, RoundTripBothFormats) {
  const auto dir = testing::temp_dir("state_round_trip");
  const auto states = random_states(2);
  for (const std::string name : {"/s.pth", "/s.safetensors"}) {
    save_time_states(dir + name, states);
    const auto back = load_time_states(dir + name, state_config());
    ASSERT_EQ(back.size(), 2u);
    for (size_t i = 0; i < 2; ++i) EXPECT_TRUE(at::equal(back[i], states[i])) << name << " layer " << i;
  }
  // The keys are RWKV-PEFT's.
  const TensorMap raw = load_checkpoint(dir + "/s.pth");
  EXPECT_EQ(raw.size(), 2u);
  EXPECT_TRUE(raw.count("blocks.0.att.time_state") && raw.count("blocks.1.att.time_state"));
}

TEST(StateFile, OtherKeysAreIgnoredAndHalfIsConverted) {
  const auto dir = testing::temp_dir("state_extra");
  const auto states = random_states(2);
  TensorMap file = {{"blocks.0.att.time_state", states[0].to(at::kBFloat16)},
                    {"blocks.1.att.time_state", states[1].to(at::kBFloat16)},
                    {"readout.kernel.sum", at::zeros({7})}};
  save_checkpoint(dir + "/s.pth", file);
  const auto back = load_time_states(dir + "/s.pth", state_config());
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].scalar_type(), at::kFloat);
  EXPECT_TRUE(at::equal(back[1], states[1].to(at::kBFloat16).to(at::kFloat)));
}

TEST(StateFile, LayerCountMismatch) {
  const auto dir = testing::temp_dir("state_layers");
  save_time_states(dir + "/three.pth", random_states(3));
  expect_error([&] { load_time_states(dir + "/three.pth", state_config()); },
               "three.pth: key 'blocks.2.att.time_state' is beyond the model's 2 layers");
  save_time_states(dir + "/one.pth", random_states(1));
  expect_error([&] { load_time_states(dir + "/one.pth", state_config()); },
               "one.pth: missing key 'blocks.1.att.time_state' (expected shape [4, 16, 16]; the file has 1 time_state keys, the model 2 layers)");
}

TEST(StateFile, WrongShape) {
  const auto dir = testing::temp_dir("state_shape");
  save_time_states(dir + "/s.pth", {at::zeros({2, 32, 32}), at::zeros({2, 32, 32})});
  expect_error([&] { load_time_states(dir + "/s.pth", state_config()); },
               "s.pth: key 'blocks.0.att.time_state' has shape [2, 32, 32], expected [4, 16, 16] [H, N, N]");
  expect_error([&] { save_time_states(dir + "/bad.pth", {at::zeros({4, 16, 16}), at::zeros({4, 16, 8})}); },
               "WKV state of layer 1 has shape [4, 16, 8], expected [H, N, N]");
  expect_error([&] { save_time_states(dir + "/none.pth", {}); }, "no WKV states to save");
}

TEST(StateFile, GoldenFixtureState) {
  SHARED_OR_SKIP(path, "fixtures/rwkv7-tiny/state.pth");
  ModelConfig c;
  c.n_layer = 2;
  c.n_embd = 128;
  c.head_size = 64;
  c.n_head = 2;
  const auto states = load_time_states(path, c);
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].sizes(), at::IntArrayRef({2, 64, 64}));
  EXPECT_GT(states[1].abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace statetune::workers
