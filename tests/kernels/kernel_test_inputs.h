#pragma once
// Random inputs shaped like the model's for the kernel ops, and the relative norm error every
// kernel test compares with. Shared by tests/kernels (CPU) and tests/gpu (CUDA through torch).
#include <ATen/ATen.h>

#include <cmath>
#include <cstdint>

namespace statetune::kernels::test_inputs {

// ---- WKV-7 (wkv7.h) ----
struct Inputs {
  at::Tensor r, w, k, v, a, b, s0;
};

// Random inputs shaped like the model's: decays in (0.55, 1), a = -kk, b = kk ⊙ gate with kk
// unit-normalised per head and the gate in (0, 1), so the transition is contractive as in
// RWKV-7 and long sequences stay finite.
inline Inputs random_inputs(int64_t B, int64_t T, int64_t H, int64_t N, bool shared_s0, at::ScalarType dtype,
                            uint64_t seed) {
  at::manual_seed(seed);
  auto o = at::TensorOptions().dtype(at::kDouble);
  Inputs in;
  in.r = at::randn({B, T, H, N}, o) * 0.5;
  in.w = 0.55 + 0.45 * at::rand({B, T, H, N}, o);
  in.k = at::randn({B, T, H, N}, o) * 0.5;
  in.v = at::randn({B, T, H, N}, o);
  at::Tensor kk = at::randn({B, T, H, N}, o);
  kk = kk / kk.norm(2, -1, true);
  in.a = -kk;
  in.b = kk * at::rand({B, T, H, N}, o);
  in.s0 = shared_s0 ? at::randn({H, N, N}, o) * 0.3 : at::randn({B, H, N, N}, o) * 0.3;
  for (at::Tensor* t : {&in.r, &in.w, &in.k, &in.v, &in.a, &in.b, &in.s0}) *t = t->to(dtype);
  return in;
}

inline double rel_err(const at::Tensor& got, const at::Tensor& want) {
  const double denom = want.to(at::kDouble).norm().item<double>();
  const double num = (got.to(at::kDouble) - want.to(at::kDouble)).norm().item<double>();
  return denom > 0 ? num / denom : num;
}

// ---- the kernel read-out (kernel_readout.h) ----
struct Params {
  at::Tensor q, S0, C, gamma, R, S_hat, Q;
};

// Inputs shaped like the method's: unit support vectors, per-head gamma around the median
// heuristic's ≈ 0.5, R = I + a perturbation (as after some DBP steps), Q ~ N(0, 1/M), q with
// norms that vary by token (as the transported query's do).
inline Params random_params(int64_t B, int64_t T, int64_t H, int64_t N, int64_t M, at::ScalarType dtype,
                            uint64_t seed) {
  at::manual_seed(seed);
  auto o = at::TensorOptions().dtype(at::kDouble);
  Params p;
  p.q = at::randn({B, T, H, N}, o) * (0.1 + 2.0 * at::rand({B, T, H, 1}, o));
  p.S0 = at::randn({H, N, N}, o) * 0.3;
  at::Tensor C = at::randn({H, M, N}, o);
  p.C = C / C.norm(2, -1, true);
  p.gamma = 0.25 + 1.5 * at::rand({H}, o);
  p.R = at::eye(M, o).expand({H, M, M}) + 0.1 * at::randn({H, M, M}, o);
  p.S_hat = at::randn({H, M, M}, o) * 0.3;
  p.Q = at::randn({H, N, M}, o) / std::sqrt(static_cast<double>(M));
  for (at::Tensor* t : {&p.q, &p.S0, &p.C, &p.gamma, &p.R, &p.S_hat, &p.Q}) *t = t->to(dtype).contiguous();
  return p;
}

}  // namespace statetune::kernels::test_inputs
