// The fast path of the kernel read-out: every token of a head becomes one row of a
// [H, B·T, ·] matrix, so the per-token matrix–vector products of kernel_readout.h turn into a
// handful of batched matmuls (BLAS, already multi-threaded) and elementwise ops. Only plain
// ATen ops are used, so the same code runs on whatever device the tensors are on.
#include "statetune/kernels/kernel_readout.h"

namespace statetune::kernels {
namespace {

// [B, T, H, X] -> [H, B·T, X] contiguous, and back.
at::Tensor to_rows(const at::Tensor& x) {
  return x.reshape({x.size(0) * x.size(1), x.size(2), x.size(3)}).transpose(0, 1).contiguous();
}
at::Tensor from_rows(const at::Tensor& x, int64_t B, int64_t T) {
  return x.transpose(0, 1).reshape({B, T, x.size(0), x.size(2)});
}

// The features of every token (rows), the forward's intermediates the backward needs too.
struct RowFeatures {
  at::Tensor n;     // [H, BT, 1]  ‖q‖
  at::Tensor mask;  // [H, BT, 1]  ‖q‖ > eps (the token has a direction)
  at::Tensor u;     // [H, BT, N]  q/‖q‖, 0 where !mask
  at::Tensor G;     // [H, BT, M]  u·c_m
  at::Tensor e;     // [H, BT, M]  exp(−γ‖u − c_m‖²), 0 where !mask
  at::Tensor phi;   // [H, BT, M]  n·e
};

RowFeatures row_features(const at::Tensor& qr, const at::Tensor& C, const at::Tensor& gamma) {
  RowFeatures f;
  f.n = qr.norm(2, -1, /*keepdim=*/true);
  f.mask = f.n > kKernelReadoutEps;
  // Divide by a safe norm (1 where masked) so masked rows give 0/1 = 0, never 0/0.
  f.u = qr / at::where(f.mask, f.n, at::ones_like(f.n));
  f.G = at::bmm(f.u, C.transpose(1, 2));
  // ‖u − c‖² = ‖u‖² − 2 u·c + ‖c‖² with ‖u‖ = 1: exact for any c up to rounding; the clamp
  // removes the tiny negative values rounding can give when u ≈ c.
  at::Tensor cc = (C * C).sum(-1).unsqueeze(1);  // [H, 1, M]
  at::Tensor d2 = (1.0 - 2.0 * f.G + cc).clamp_min(0.0);
  f.e = at::exp(-gamma.view({-1, 1, 1}) * d2) * f.mask;
  f.phi = f.n * f.e;
  return f;
}

}  // namespace

KernelReadoutOutput kernel_readout_forward_cpu(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q) {
  kernel_readout_check_inputs(q, S0, C, gamma, R, S_hat, Q);
  const int64_t B = q.size(0), T = q.size(1);
  at::Tensor qr = to_rows(q);                                    // [H, BT, N]
  RowFeatures f = row_features(qr, C, gamma);
  at::Tensor z = at::bmm(f.phi, R.transpose(1, 2));              // rows: zᵀ = φᵀ Rᵀ
  at::Tensor o = at::bmm(z, at::bmm(Q, S_hat).transpose(1, 2));  // rows: (Q Ŝ z)ᵀ
  if (S0.defined()) o.baddbmm_(qr, S0.transpose(1, 2));          // + (S0 q)ᵀ
  return {from_rows(o, B, T).contiguous(), from_rows(z, B, T).contiguous()};
}

KernelReadoutGrads kernel_readout_backward_cpu(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q,
                                               const at::Tensor& d_o) {
  kernel_readout_check_inputs(q, S0, C, gamma, R, S_hat, Q, d_o);
  const int64_t B = q.size(0), T = q.size(1);
  at::Tensor qr = to_rows(q), dor = to_rows(d_o);  // [H, BT, N]
  RowFeatures f = row_features(qr, C, gamma);      // recomputed: cheaper than saving [B,T,H,M] ×3
  at::Tensor z = at::bmm(f.phi, R.transpose(1, 2));

  KernelReadoutGrads g;
  at::Tensor qtdo = at::bmm(dor, Q);                  // rows: (Qᵀ d_o)ᵀ   [H, BT, M]
  g.dS_hat = at::bmm(qtdo.transpose(1, 2), z);        // Σ (Qᵀ d_o) zᵀ    [H, M, M]
  if (S0.defined()) g.dS0 = at::bmm(dor.transpose(1, 2), qr);  // Σ d_o qᵀ  [H, N, N]
  at::Tensor gphi = at::bmm(at::bmm(qtdo, S_hat), R);  // rows: (Rᵀ Ŝᵀ Qᵀ d_o)ᵀ
  // Σ_m w_m [u + 2γ (c_m − (u·c_m) u)] with w = gφ ⊙ e (0 on masked rows, as is u):
  //   = u (Σ w − 2γ Σ w_m G_m) + 2γ W C
  at::Tensor w = gphi * f.e;
  at::Tensor g2 = 2.0 * gamma.view({-1, 1, 1});
  at::Tensor coef = w.sum(-1, true) - g2 * (w * f.G).sum(-1, true);  // [H, BT, 1]
  at::Tensor dqr = f.u * coef + g2 * at::bmm(w, C);
  if (S0.defined()) dqr.baddbmm_(dor, S0);  // rows: (S0ᵀ d_o)ᵀ = d_oᵀ S0
  g.dq = from_rows(dqr, B, T).contiguous();
  return g;
}

}  // namespace statetune::kernels
