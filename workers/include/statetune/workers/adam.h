#pragma once
// Adam for the tuned state (β1 0.9, β2 0.99, eps 1e-8, no weight decay, bias-corrected),
// written out rather than taken from torch::optim so its moments are plain tensors we can
// checkpoint, all-reduce-free and bit-reproducible. Each parameter has its own lr per step
// (S0 and the kernel state Ŝ use different learning rates).
#include <cstdint>
#include <vector>

#include <ATen/ATen.h>

namespace statetune::workers {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.99;
  double eps = 1e-8;
};

class Adam {
 public:
  Adam(std::vector<at::Tensor> params, AdamOptions options = {});
  // p <- p - lr · m̂ / (sqrt(v̂) + eps) for every parameter with a gradient `grads[i]`.
  void step(const std::vector<at::Tensor>& grads, const std::vector<double>& lrs);
  int64_t steps_taken() const { return step_; }
  const std::vector<at::Tensor>& first_moments() const { return m_; }
  const std::vector<at::Tensor>& second_moments() const { return v_; }
  // For resume: restores moments and the step count exactly.
  void restore(std::vector<at::Tensor> m, std::vector<at::Tensor> v, int64_t step);

 private:
  std::vector<at::Tensor> params_, m_, v_;
  AdamOptions options_;
  int64_t step_ = 0;
};

}  // namespace statetune::workers
