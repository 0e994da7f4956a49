#pragma once
// The RWKV-7 (x070) language model in LibTorch, exactly the official one, weights frozen.
//
// Two execution modes with the same results:
//   * sequence mode, forward(): a right-padded batch [B, T] with per-sequence lengths, for
//     scoring and tuning; autograd flows to the initial state (and every activation) only;
//   * step mode, step(): one token per sequence, RNN-style, for generation.
// Both take an optional initial state per layer (att token shift [C], WKV [H, N, N],
// ffn token shift [C]), either shared by the batch or one per sequence.
//
// Device and precision. The weights live on one device (CPU, a CUDA GPU, or meta for a dry
// run) in the weights dtype: float32, float64 (gradient checks) or bfloat16 (half the memory,
// tensor-core matmuls). With bf16 weights the activations between the matmuls are bf16 too,
// but the WKV recurrence (its six inputs, the decay, the state), the kernel read-out, every
// state tensor and the logits are float32: the decay over a long context is a product of
// values near 1, which bf16 (steps of 2^-8 at 1) cannot carry. state_dtype() names that
// precision (float32 for bf16 weights, else the weights dtype).
#include <ATen/ATen.h>
#include <optional>
#include <string>
#include <vector>

#include "statetune/workers/model_config.h"

namespace statetune::workers {

// The kernel read-out of the `kernel` and `dbp` methods (METHOD.md §2-3, kernels/kernel_readout.h):
// per head, `Q·Ŝ·R·φ(q_t)` is added to the WKV output before GroupNorm, where q_t = P_t r_t is
// the transported query. Ŝ is tuned; the rest are fixed buffers saved with it. All tensors
// have the model's state dtype and live on its device.
struct KernelReadout {
  at::Tensor support;  // C [H, M, N], unit vectors
  at::Tensor gamma;    // [H]
  at::Tensor R;        // [H, M, M] DBP decorrelation (identity for `kernel`)
  at::Tensor S_hat;    // Ŝ [H, M, M]
  at::Tensor Q;        // [H, N, M] fixed random up-projection
  int64_t M() const { return S_hat.size(-1); }
};

// The recurrent state of one layer. Shapes: att_shift/ffn_shift [C] (shared) or [B, C];
// wkv [H, N, N] (shared) or [B, H, N, N]. Undefined tensors mean zero.
// With a kernel read-out the layer also carries the transport P_t = A_1⋯A_t ([H, N, N] or
// [B, H, N, N]; undefined = identity, i.e. nothing read yet): the read-out of a later token
// depends on everything read since the tuned state was installed, exactly as S0's does.
struct LayerState {
  at::Tensor att_shift;
  at::Tensor wkv;
  at::Tensor ffn_shift;
  at::Tensor transport;
  std::optional<KernelReadout> readout;
};
using ModelState = std::vector<LayerState>;

// Optional by-products of a sequence-mode forward, all detached.
struct ForwardTrace {
  // Set to collect every layer's transported query q_t (costs one more WKV pass per layer
  // without a read-out): the calibration pass of the kernel methods.
  bool collect_queries = false;
  std::vector<at::Tensor> queries;    // per layer [B, T, H, N] (undefined unless collected)
  std::vector<at::Tensor> readout_z;  // per layer [B, T, H, M] = R·φ(q) where a read-out is present
  at::Tensor mask;                    // [B, T] bool, the real (non-padding) positions
};

class Rwkv7Model {
 public:
  // Takes official-named weights (any float dtype, on the CPU), converts them to `dtype`
  // (float32 by default; float64 for gradient checks; bfloat16), puts them on `device` and
  // freezes them. `source` names them in errors.
  Rwkv7Model(const TensorMap& weights, const std::string& source, at::ScalarType dtype = at::kFloat,
             at::Device device = at::kCPU);
  static Rwkv7Model load(const std::string& path, at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU);

  const ModelConfig& config() const { return config_; }
  at::ScalarType dtype() const { return dtype_; }  // of the weights
  at::ScalarType state_dtype() const { return dtype_ == at::kBFloat16 ? at::kFloat : dtype_; }
  at::Device device() const { return device_; }
  // For tensors that meet the state: the state dtype on the model's device.
  at::TensorOptions state_options() const { return at::TensorOptions().dtype(state_dtype()).device(device_); }
  // Bytes the weights take on the device.
  int64_t weight_bytes() const;

  // tokens: [B, T] int64. lengths: [B] int64 with 1 <= length <= T, or undefined (all T);
  // positions at or past a sequence's length are padding: their logits are meaningless and
  // they do not touch the state. initial: per-layer state or nullptr (zeros).
  // tokens and lengths may be on the host (checked there, then copied to the device) or
  // already on the model's device (then the caller has checked them: a check would read the
  // device). Returns logits [B, T, V] in the state dtype; if final_state is given, it
  // receives each sequence's state after its last real token ([B, ...] tensors).
  // trace: optional by-products (see ForwardTrace).
  at::Tensor forward(const at::Tensor& tokens, const at::Tensor& lengths = at::Tensor(),
                     const ModelState* initial = nullptr, ModelState* final_state = nullptr,
                     ForwardTrace* trace = nullptr) const;

  // One token per sequence: tokens [B] int64; state is read and replaced ([B, ...] tensors
  // after the first call; zero_state(B) is a fine start). Returns logits [B, V].
  at::Tensor step(const at::Tensor& tokens, ModelState& state) const;

  // A zero state for `batch` sequences, [B, ...] tensors (state dtype, model's device).
  ModelState zero_state(int64_t batch) const;

  // The state after reading `tokens` from the zero state, unbatched ([C], [H, N, N]) and
  // detached: a prompt's state (`init: prompt`, a guide's prefix). No read-out, no transport.
  ModelState prompt_state(const std::vector<int64_t>& tokens) const;

 private:
  struct TimeMixIO;
  at::Tensor time_mix(int64_t layer, const at::Tensor& x, const at::Tensor& mask, at::Tensor& v_first,
                      TimeMixIO& io) const;
  at::Tensor channel_mix(int64_t layer, const at::Tensor& x, const at::Tensor& shift) const;
  const at::Tensor& w(const std::string& key) const;
  void check_readout(const KernelReadout& readout, int64_t layer) const;

  ModelConfig config_;
  at::ScalarType dtype_;
  at::Device device_;
  TensorMap weights_;
};

}  // namespace statetune::workers
