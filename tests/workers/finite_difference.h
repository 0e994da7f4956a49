#pragma once
// Central finite differences of a scalar loss against an analytic gradient, on every
// stride-th element of a tensor: the one loop every state-gradient test here needs.
#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace statetune::workers {

struct FdComparison {
  double worst = 0;    // max over the sampled elements of |fd − grad| / (floor + |fd|)
  double largest = 0;  // max |fd|: shows the sampled gradient was not all zero
};

// `flat` must share storage with what loss() reads (e.g. param.detach().view({-1})); each
// sampled element is moved by ±step and put back. `grad` is the analytic gradient, flat too.
template <typename Loss>
FdComparison compare_with_central_differences(at::Tensor flat, const at::Tensor& grad, const Loss& loss,
                                              int64_t stride, double step, double floor) {
  FdComparison c;
  for (int64_t e = 0; e < flat.numel(); e += stride) {
    at::NoGradGuard no_grad;
    const double orig = flat[e].item<double>();
    flat[e] = orig + step;
    const double lp = loss().template item<double>();
    flat[e] = orig - step;
    const double lm = loss().template item<double>();
    flat[e] = orig;
    const double fd = (lp - lm) / (2 * step);
    c.worst = std::max(c.worst, std::abs(fd - grad[e].item<double>()) / (floor + std::abs(fd)));
    c.largest = std::max(c.largest, std::abs(fd));
  }
  return c;
}

}  // namespace statetune::workers
