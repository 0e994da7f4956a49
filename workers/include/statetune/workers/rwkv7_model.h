#pragma once
// The RWKV-7 (x070) language model in LibTorch, exactly the official one, weights frozen.
//
// Two execution modes with the same results:
//   * sequence mode, forward(): a right-padded batch [B, T] with per-sequence lengths, for
//     scoring and tuning; autograd flows to the initial state (and every activation) only;
//   * step mode, step(): one token per sequence, RNN-style, for generation.
// Both take an optional initial state per layer (att token shift [C], WKV [H, N, N],
// ffn token shift [C]), either shared by the batch or one per sequence.
#include <optional>
#include <string>
#include <vector>

#include "statetune/workers/model_config.h"

namespace statetune::workers {

// The recurrent state of one layer. Shapes: att_shift/ffn_shift [C] (shared) or [B, C];
// wkv [H, N, N] (shared) or [B, H, N, N]. Undefined tensors mean zero.
struct LayerState {
  at::Tensor att_shift;
  at::Tensor wkv;
  at::Tensor ffn_shift;
};
using ModelState = std::vector<LayerState>;

class Rwkv7Model {
 public:
  // Takes official-named weights (any float dtype), converts them to `dtype` (float32 by
  // default; float64 for gradient checks), and freezes them. `source` names them in errors.
  Rwkv7Model(const TensorMap& weights, const std::string& source, at::ScalarType dtype = at::kFloat);
  static Rwkv7Model load(const std::string& path, at::ScalarType dtype = at::kFloat);

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }

  // tokens: [B, T] int64. lengths: [B] int64 with 1 <= length <= T, or undefined (all T);
  // positions at or past a sequence's length are padding: their logits are meaningless and
  // they do not touch the state. initial: per-layer state or nullptr (zeros).
  // Returns logits [B, T, V]; if final_state is given, it receives each sequence's state
  // after its last real token ([B, ...] tensors).
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& lengths = at::Tensor(),
                     const ModelState* initial = nullptr, ModelState* final_state = nullptr) const;

  // One token per sequence: tokens [B] int64; state is read and replaced ([B, ...] tensors
  // after the first call; zero_state(B) is a fine start). Returns logits [B, V].
  at::Tensor step(const at::Tensor& tokens, ModelState& state) const;

  // A zero state for `batch` sequences, [B, ...] tensors in the model's dtype.
  ModelState zero_state(int64_t batch) const;

 private:
  at::Tensor time_mix(int64_t layer, const at::Tensor& x, const at::Tensor& shift, const at::Tensor& s0,
                      const at::Tensor& mask, at::Tensor& v_first, at::Tensor* wkv_out) const;
  at::Tensor channel_mix(int64_t layer, const at::Tensor& x, const at::Tensor& shift) const;
  const at::Tensor& w(const std::string& key) const;

  ModelConfig config_;
  at::ScalarType dtype_;
  TensorMap weights_;
};

}  // namespace statetune::workers
