#include "statetune/workers/adam.h"

#include <cmath>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"

namespace statetune::workers {

Adam::Adam(std::vector<at::Tensor> params, AdamOptions options) : params_(std::move(params)), options_(options) {
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p));
    v_.push_back(at::zeros_like(p));
  }
}

void Adam::step(const std::vector<at::Tensor>& grads, const std::vector<double>& lrs) {
  ST_CHECK(grads.size() == params_.size() && lrs.size() == params_.size(),
           "Adam: {} parameters, {} gradients, {} learning rates", params_.size(), grads.size(), lrs.size());
  ++step_;
  const double bc1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double bc2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  at::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    if (!grads[i].defined()) continue;
    m_[i].mul_(options_.beta1).add_(grads[i], 1.0 - options_.beta1);
    v_[i].mul_(options_.beta2).addcmul_(grads[i], grads[i], 1.0 - options_.beta2);
    const at::Tensor denom = (v_[i] / bc2).sqrt_().add_(options_.eps);
    params_[i].addcdiv_(m_[i], denom, -lrs[i] / bc1);
  }
}

void Adam::restore(std::vector<at::Tensor> m, std::vector<at::Tensor> v, int64_t step) {
  ST_CHECK(m.size() == params_.size() && v.size() == params_.size(), "Adam restore: expected {} moments, got {}/{}",
           params_.size(), m.size(), v.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    ST_CHECK(m[i].sizes() == params_[i].sizes() && v[i].sizes() == params_[i].sizes(),
             "Adam restore: moment {} has the wrong shape", i);
  }
  m_ = std::move(m);
  v_ = std::move(v);
  step_ = step;
}

}  // namespace statetune::workers
