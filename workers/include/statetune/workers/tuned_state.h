#pragma once
// The tunable state of the three methods (METHOD.md §1-§3), weights frozen:
//   standard  each layer's WKV initial state S0 [H, N, N], shared by every sequence of a
//             batch; optionally (`shift: tune`) the two token-shift states [C] per layer too;
//   kernel    plus the kernel read-out per layer (KernelReadout): Ŝ [H, M, M] tuned with its
//             own learning rate, support vectors, gamma and Q fixed, R = I; `linear: false`
//             keeps S0 at zero and untuned;
//   dbp       kernel, plus R moved by the decorrelation rule after each optimiser step
//             (R is a buffer, never a parameter).
// With Ŝ = 0 the kernel read-out adds exactly 0, so step 0 of every method is the frozen model
// started from S0, and kernel with Ŝ frozen is standard.
#include <string>
#include <vector>

#include "statetune/workers/rwkv7_model.h"

namespace statetune::workers {

enum class TuneMethod { kStandard, kKernel, kDbp };
TuneMethod parse_tune_method(const std::string& name);  // "standard" | "kernel" | "dbp"
const char* tune_method_name(TuneMethod method);

// The fixed buffers of a kernel read-out, one entry per layer (from calibrate_kernel_readout).
struct KernelBuffers {
  std::vector<at::Tensor> support;  // [H, M, N]
  std::vector<at::Tensor> gamma;    // [H]
  std::vector<at::Tensor> Q;        // [H, N, M]
};

class TunedState {
 public:
  // `init: zeros`, tensors made with `options` (the model's state_options(): its state dtype
  // on its device).
  TunedState(const ModelConfig& config, bool tune_shift, const at::TensorOptions& options = at::kFloat);
  // `init: prompt`: the state after reading a text. `state` holds [1, ...] or unbatched
  // tensors; they keep their dtype and device.
  static TunedState from_model_state(const ModelState& state, bool tune_shift);

  // Makes this a kernel-method state: Ŝ = 0 (tuned), R = I. linear = false: S0 stays at its
  // current value (zeros unless initialised from a prompt) and is no longer tuned.
  void add_kernel_readout(const KernelBuffers& buffers, bool linear);
  bool has_kernel_readout() const { return !s_hat_.empty(); }

  // The leaf tensors Adam updates (requires_grad), in a fixed order: S0s (if linear), the
  // shift states (if tuned), then the Ŝs.
  std::vector<at::Tensor> parameters() const;
  // The learning rate of each parameter: lr for S0 and the shifts, lr_kernel for Ŝ.
  std::vector<double> learning_rates(double lr, double lr_kernel) const;

  // The model's initial state (unbatched tensors that autograd tracks back to parameters()).
  ModelState initial_state() const;
  const std::vector<at::Tensor>& wkv() const { return wkv_; }
  const std::vector<at::Tensor>& s_hat() const { return s_hat_; }
  // DBP's R per layer [H, M, M]; replaced (not modified in place) by the DBP update.
  std::vector<at::Tensor>& decorrelation() { return R_; }
  const std::vector<at::Tensor>& decorrelation() const { return R_; }
  // Resume: overwrites every value (S0, shifts, Ŝ, R and the fixed buffers) with a saved
  // state of the same method and shapes (as initial_state() produced it).
  void assign(const ModelState& saved);
  bool tunes_shift() const { return !att_shift_.empty(); }
  bool tunes_wkv() const { return linear_; }

 private:
  TunedState() = default;
  std::vector<at::Tensor> wkv_, att_shift_, ffn_shift_;
  std::vector<at::Tensor> s_hat_, R_;
  KernelBuffers buffers_;
  bool linear_ = true;
};

}  // namespace statetune::workers
