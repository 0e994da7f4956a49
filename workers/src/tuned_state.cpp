#include "statetune/workers/tuned_state.h"
#include <ATen/core/grad_mode.h>


#include "statetune/common/error.h"

namespace statetune::workers {

TuneMethod parse_tune_method(const std::string& name) {
  if (name == "standard") return TuneMethod::kStandard;
  if (name == "kernel") return TuneMethod::kKernel;
  if (name == "dbp") return TuneMethod::kDbp;
  fail("unknown tuning method '{}' (expected standard, kernel or dbp)", name);
}

const char* tune_method_name(TuneMethod method) {
  switch (method) {
    case TuneMethod::kStandard: return "standard";
    case TuneMethod::kKernel: return "kernel";
    case TuneMethod::kDbp: return "dbp";
  }
  return "?";
}

TunedState::TunedState(const ModelConfig& c, bool tune_shift, const at::TensorOptions& opts) {
  for (int64_t l = 0; l < c.n_layer; ++l) {
    wkv_.push_back(at::zeros({c.n_head, c.head_size, c.head_size}, opts).set_requires_grad(true));
    if (tune_shift) {
      att_shift_.push_back(at::zeros({c.n_embd}, opts).set_requires_grad(true));
      ffn_shift_.push_back(at::zeros({c.n_embd}, opts).set_requires_grad(true));
    }
  }
}

TunedState TunedState::from_model_state(const ModelState& state, bool tune_shift) {
  TunedState s;
  auto unbatched = [](const at::Tensor& t, int64_t dims) {
    at::Tensor u = t.dim() == dims + 1 ? t.select(0, 0) : t;
    ST_CHECK(u.dim() == dims, "init: prompt: a state tensor has {} dims, expected {}", t.dim(), dims);
    return u.detach().clone().set_requires_grad(true);
  };
  for (const auto& layer : state) {
    ST_CHECK(layer.wkv.defined(), "init: prompt: the prompt state has no WKV part");
    s.wkv_.push_back(unbatched(layer.wkv, 3));
    if (tune_shift) {
      s.att_shift_.push_back(unbatched(layer.att_shift, 1));
      s.ffn_shift_.push_back(unbatched(layer.ffn_shift, 1));
    }
  }
  return s;
}

void TunedState::add_kernel_readout(const KernelBuffers& buffers, bool linear) {
  const size_t L = wkv_.size();
  ST_CHECK(buffers.support.size() == L && buffers.gamma.size() == L && buffers.Q.size() == L,
           "kernel read-out: buffers for {}/{}/{} layers, the state has {}", buffers.support.size(),
           buffers.gamma.size(), buffers.Q.size(), L);
  buffers_ = KernelBuffers{};
  for (size_t l = 0; l < L; ++l) {  // own copies: resume overwrites them in place
    buffers_.support.push_back(buffers.support[l].detach().clone());
    buffers_.gamma.push_back(buffers.gamma[l].detach().clone());
    buffers_.Q.push_back(buffers.Q[l].detach().clone());
  }
  linear_ = linear;
  s_hat_.clear();
  R_.clear();
  for (size_t l = 0; l < L; ++l) {
    const at::Tensor& c = buffers.support[l];
    ST_CHECK(c.dim() == 3, "kernel read-out: support vectors of layer {} must be [H, M, N]", l);
    const int64_t H = c.size(0), M = c.size(1);
    const auto opts = wkv_[l].options();
    s_hat_.push_back(at::zeros({H, M, M}, opts).set_requires_grad(true));
    R_.push_back(at::eye(M, opts).expand({H, M, M}).contiguous());
    if (!linear) wkv_[l] = wkv_[l].detach();
  }
}

std::vector<at::Tensor> TunedState::parameters() const {
  std::vector<at::Tensor> p;
  if (linear_) p = wkv_;
  p.insert(p.end(), att_shift_.begin(), att_shift_.end());
  p.insert(p.end(), ffn_shift_.begin(), ffn_shift_.end());
  p.insert(p.end(), s_hat_.begin(), s_hat_.end());
  return p;
}

std::vector<double> TunedState::learning_rates(double lr, double lr_kernel) const {
  const size_t linear = (linear_ ? wkv_.size() : 0) + att_shift_.size() + ffn_shift_.size();
  std::vector<double> lrs(linear, lr);
  lrs.insert(lrs.end(), s_hat_.size(), lr_kernel);
  return lrs;
}

void TunedState::assign(const ModelState& saved) {
  ST_CHECK(saved.size() == wkv_.size(), "resume: the saved state has {} layers, expected {}", saved.size(),
           wkv_.size());
  at::NoGradGuard no_grad;
  auto copy = [](at::Tensor& dst, const at::Tensor& src, const char* what, size_t layer) {
    ST_CHECK(src.defined() && src.sizes() == dst.sizes(), "resume: layer {} {} does not match the run's shape", layer,
             what);
    dst.copy_(src);
  };
  for (size_t l = 0; l < wkv_.size(); ++l) {
    const LayerState& s = saved[l];
    copy(wkv_[l], s.wkv, "wkv", l);
    ST_CHECK(tunes_shift() == s.att_shift.defined(), "resume: the saved state {} token-shift states, the run {}",
             s.att_shift.defined() ? "has" : "has no", tunes_shift() ? "tunes them" : "does not");
    if (tunes_shift()) {
      copy(att_shift_[l], s.att_shift, "att_shift", l);
      copy(ffn_shift_[l], s.ffn_shift, "ffn_shift", l);
    }
    ST_CHECK(has_kernel_readout() == s.readout.has_value(), "resume: the saved state {} a kernel read-out, the run {}",
             s.readout ? "has" : "has no", has_kernel_readout() ? "has one" : "has none");
    if (has_kernel_readout()) {
      copy(s_hat_[l], s.readout->S_hat, "S_hat", l);
      copy(R_[l], s.readout->R, "R", l);
      copy(buffers_.support[l], s.readout->support, "support", l);
      copy(buffers_.gamma[l], s.readout->gamma, "gamma", l);
      copy(buffers_.Q[l], s.readout->Q, "Q", l);
    }
  }
}

ModelState TunedState::initial_state() const {
  ModelState s(wkv_.size());
  for (size_t l = 0; l < wkv_.size(); ++l) {
    s[l].wkv = wkv_[l];
    if (tunes_shift()) {
      s[l].att_shift = att_shift_[l];
      s[l].ffn_shift = ffn_shift_[l];
    }
    if (has_kernel_readout()) {
      KernelReadout ro;
      ro.support = buffers_.support[l];
      ro.gamma = buffers_.gamma[l];
      ro.Q = buffers_.Q[l];
      ro.R = R_[l];
      ro.S_hat = s_hat_[l];
      s[l].readout = ro;
    }
  }
  return s;
}

}  // namespace statetune::workers
