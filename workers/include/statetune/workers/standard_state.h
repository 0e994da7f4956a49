#pragma once
// The tunable state of the `standard` method (METHOD.md §1): each layer's WKV initial state
// S0 [H, N, N], shared by every sequence of a batch; optionally (`shift: tune`) the two
// token-shift states [C] per layer too. Weights stay frozen.
#include <vector>

#include "statetune/workers/rwkv7_model.h"

namespace statetune::workers {

class StandardState {
 public:
  // Zeros (`init: zeros`).
  StandardState(const ModelConfig& config, bool tune_shift, at::ScalarType dtype = at::kFloat);
  // `init: prompt`: the state after reading a text. `state` holds [1, ...] or unbatched tensors.
  static StandardState from_model_state(const ModelState& state, bool tune_shift);

  // The leaf tensors Adam updates (requires_grad), in a fixed order.
  std::vector<at::Tensor> parameters() const;
  // The model's initial state: shared tensors that autograd tracks back to parameters().
  // Token-shift states are zero unless tuned.
  ModelState initial_state() const;
  const std::vector<at::Tensor>& wkv() const { return wkv_; }
  bool tunes_shift() const { return !att_shift_.empty(); }

 private:
  StandardState() = default;
  std::vector<at::Tensor> wkv_, att_shift_, ffn_shift_;
};

}  // namespace statetune::workers
