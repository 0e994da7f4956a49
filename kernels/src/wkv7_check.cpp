#include <string>

#include "statetune/common/error.h"
#include "statetune/kernels/shape_str.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {
std::string shape_str(const at::Tensor& t) { return statetune::shape_str(t.sizes()); }
}  // namespace

void wkv7_check_shapes(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0) {
  ST_CHECK(r.defined() && r.dim() == 4, "wkv7: r must be [B, T, H, N], got {}",
           r.defined() ? shape_str(r) : std::string("undefined"));
  const char* names[] = {"w", "k", "v", "a", "b"};
  const at::Tensor* others[] = {&w, &k, &v, &a, &b};
  for (int i = 0; i < 5; ++i) {
    const at::Tensor& t = *others[i];
    ST_CHECK(t.defined() && t.sizes() == r.sizes(), "wkv7: {} must have r's shape {}, got {}", names[i],
             shape_str(r), t.defined() ? shape_str(t) : std::string("undefined"));
    ST_CHECK(t.scalar_type() == r.scalar_type(), "wkv7: {} has dtype {}, expected r's dtype {}", names[i],
             c10::toString(t.scalar_type()), c10::toString(r.scalar_type()));
    ST_CHECK(t.device() == r.device(), "wkv7: {} is on {}, r on {}", names[i], t.device().str(), r.device().str());
  }
  if (s0.defined()) {
    int64_t B = r.size(0), H = r.size(2), N = r.size(3);
    bool per_batch = s0.dim() == 4 && s0.size(0) == B && s0.size(1) == H && s0.size(2) == N && s0.size(3) == N;
    bool shared = s0.dim() == 3 && s0.size(0) == H && s0.size(1) == N && s0.size(2) == N;
    ST_CHECK(per_batch || shared, "wkv7: s0 must be [B, H, N, N] = [{}, {}, {}, {}] or [H, N, N], got {}", B, H, N,
             N, shape_str(s0));
    ST_CHECK(s0.device() == r.device(), "wkv7: s0 is on {}, r on {}", s0.device().str(), r.device().str());
  }
}

void wkv7_check_inputs(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0) {
  wkv7_check_shapes(r, w, k, v, a, b, s0);
  ST_CHECK(r.scalar_type() == at::kFloat || r.scalar_type() == at::kDouble,
           "wkv7 (CPU): inputs must be float32 or float64, got {}", c10::toString(r.scalar_type()));
  ST_CHECK(!s0.defined() || s0.scalar_type() == r.scalar_type(), "wkv7: s0 has dtype {}, expected {}",
           c10::toString(s0.scalar_type()), c10::toString(r.scalar_type()));
}

}  // namespace statetune::kernels
