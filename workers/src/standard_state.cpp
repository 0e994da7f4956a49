#include "statetune/workers/standard_state.h"

#include "statetune/common/error.h"

namespace statetune::workers {

StandardState::StandardState(const ModelConfig& c, bool tune_shift, at::ScalarType dtype) {
  const auto opts = at::TensorOptions().dtype(dtype);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    wkv_.push_back(at::zeros({c.n_head, c.head_size, c.head_size}, opts).set_requires_grad(true));
    if (tune_shift) {
      att_shift_.push_back(at::zeros({c.n_embd}, opts).set_requires_grad(true));
      ffn_shift_.push_back(at::zeros({c.n_embd}, opts).set_requires_grad(true));
    }
  }
}

StandardState StandardState::from_model_state(const ModelState& state, bool tune_shift) {
  StandardState s;
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

std::vector<at::Tensor> StandardState::parameters() const {
  std::vector<at::Tensor> p = wkv_;
  p.insert(p.end(), att_shift_.begin(), att_shift_.end());
  p.insert(p.end(), ffn_shift_.begin(), ffn_shift_.end());
  return p;
}

ModelState StandardState::initial_state() const {
  ModelState s(wkv_.size());
  for (size_t l = 0; l < wkv_.size(); ++l) {
    s[l].wkv = wkv_[l];
    if (tunes_shift()) {
      s[l].att_shift = att_shift_[l];
      s[l].ffn_shift = ffn_shift_[l];
    }
  }
  return s;
}

}  // namespace statetune::workers
