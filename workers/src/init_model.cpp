// Seeded random RWKV-7 weights that look like a trained model's, not like a training init:
// every projection is non-zero, decays are spread over (0.55, 1), and each residual branch adds
// O(1) (scaled down where it feeds the residual) so activations stay O(1) through depth.
#include "statetune/workers/init_model.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <functional>

#include "statetune/common/error.h"

namespace statetune::workers {
namespace {

// Each tensor has its own generator, seeded from (seed, key), so a tensor does not change when
// other tensors are added or the layer count changes. FNV-1a and splitmix64 are fixed
// functions (std::hash is not guaranteed stable across builds).
uint64_t tensor_seed(uint64_t seed, const std::string& key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char ch : key) h = (h ^ ch) * 1099511628211ull;
  uint64_t z = seed ^ h;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

class Init {
 public:
  Init(std::vector<int64_t> shape, at::Generator gen) : shape_(std::move(shape)), gen_(std::move(gen)) {}
  at::Tensor normal(double mean, double std) { return at::randn(shape_, gen_, kFp32) * std + mean; }
  at::Tensor uniform(double lo, double hi) { return at::rand(shape_, gen_, kFp32) * (hi - lo) + lo; }

 private:
  static inline const at::TensorOptions kFp32 = at::TensorOptions().dtype(at::kFloat);
  std::vector<int64_t> shape_;
  at::Generator gen_;
};

at::Tensor init_tensor(const std::string& key, const ModelConfig& c, Init& r) {
  const double inv_sqrt_c = 1.0 / std::sqrt(static_cast<double>(c.n_embd));
  auto rank_scale = [](int64_t rank) { return 1.0 / std::sqrt(static_cast<double>(rank)); };
  auto is = [&](const char* suffix) { return ends_with(key, suffix); };

  if (key == "emb.weight") return r.normal(0.0, 0.1);  // ln0 follows: only the direction matters
  // LayerNorm / GroupNorm: near the identity affine map, but not exactly.
  if (is("ln0.weight") || is("ln1.weight") || is("ln2.weight") || is("ln_x.weight") || key == "ln_out.weight")
    return r.normal(1.0, 0.1);
  if (is("ln0.bias") || is("ln1.bias") || is("ln2.bias") || is("ln_x.bias") || key == "ln_out.bias")
    return r.normal(0.0, 0.05);
  // Token-shift mixes are interpolation weights.
  if (is(".att.x_r") || is(".att.x_w") || is(".att.x_k") || is(".att.x_v") || is(".att.x_a") || is(".att.x_g") ||
      is(".ffn.x_k"))
    return r.uniform(0.0, 1.0);
  // decay = exp(-e^-0.5 * sigmoid(w0 + lora)): w0 in [-6, 1] gives decays from ~0.9985 to ~0.64,
  // i.e. memories from hundreds of tokens down to one or two.
  if (is(".att.w0")) return r.uniform(-6.0, 1.0);
  if (is(".att.a0") || is(".att.v0")) return r.normal(0.0, 0.5);
  // LoRA down-projections: O(1) entries in the low-rank space.
  if (is(".att.w1") || is(".att.a1") || is(".att.v1") || is(".att.g1")) return r.normal(0.0, inv_sqrt_c);
  // LoRA up-projections: a modest per-token modulation of the bias (w0/a0/v0).
  if (is(".att.w2")) return r.normal(0.0, 0.5 * rank_scale(c.rank_w));
  if (is(".att.a2")) return r.normal(0.0, 0.3 * rank_scale(c.rank_a));
  if (is(".att.v2")) return r.normal(0.0, 0.3 * rank_scale(c.rank_v));
  // The output gate multiplies the attention output: keep it O(1) so the WKV path (and with it
  // the tuned state) matters.
  if (is(".att.g2")) return r.normal(0.0, rank_scale(c.rank_g));
  if (is(".att.k_k")) return r.uniform(0.7, 1.0);
  if (is(".att.k_a")) return r.uniform(0.9, 1.1);
  if (is(".att.r_k")) return r.normal(0.0, 0.1);
  if (is(".att.receptance.weight") || is(".att.key.weight") || is(".att.value.weight"))
    return r.normal(0.0, inv_sqrt_c);
  // Projections back into the residual stream are halved so depth adds up gently.
  if (is(".att.output.weight")) return r.normal(0.0, 0.5 * inv_sqrt_c);
  if (is(".ffn.key.weight")) return r.normal(0.0, inv_sqrt_c);
  if (is(".ffn.value.weight")) return r.normal(0.0, 0.5 / std::sqrt(4.0 * static_cast<double>(c.n_embd)));
  if (key == "head.weight") return r.normal(0.0, inv_sqrt_c);
  fail("init_random_model: no init rule for key '{}' (expected_shapes and init_model.cpp disagree)", key);
}

}  // namespace

TensorMap init_random_model(const ModelConfig& config, uint64_t seed) {
  // expected_shapes validates the config; n_head is derived there.
  const auto shapes = expected_shapes(config);
  ModelConfig c = config;
  c.n_head = c.n_embd / c.head_size;
  TensorMap out;
  for (const auto& [key, shape] : shapes) {
    Init r(shape, at::detail::createCPUGenerator(tensor_seed(seed, key)));
    out.emplace(key, init_tensor(key, c, r).contiguous());
  }
  return out;
}

}  // namespace statetune::workers
