#pragma once
// The "kernel" method's read-out (METHOD.md §2–§3): a Gaussian-kernel, upscaled read-out of
// the transported query. Per token t and head h, with q = q_t ∈ R^N the transported query
// (the y of the WKV-7 op run with s0 = I and v = 0, see wkv7.h — this op does NOT run a
// recurrence, it only reads q out):
//
//   n   = ‖q‖,  u = q / n                                     (u = 0 when n ≤ kKernelReadoutEps)
//   e_m = exp(−gamma_h · ‖u − c_m‖²),  φ_m = n · e_m,  m = 1..M (degree-1 homogeneous in q)
//   z   = R · φ                                               [M]
//   o   = S0 · q + Q · Ŝ · z                                  [N]  (o_i = Σ_j S0[i][j] q_j)
//
// Shapes (dtype float32 or float64, all alike, all on one device):
//   q      [B, T, H, N]   the transported query
//   S0     [H, N, N]      the standard (linear) tuned state; row i = value index. May be
//                         undefined (= 0, METHOD's `linear: false`); then dS0 is undefined.
//   C      [H, M, N]      support vectors c_m. Meant to be unit vectors (spherical k-means of
//                         q̂), but nothing here relies on it: ‖u − c‖² is evaluated exactly for
//                         any c and the gradient below holds for any c (it only uses ‖u‖ = 1).
//   gamma  [H]            kernel width per head (≥ 0 expected; not checked, no sync)
//   R      [H, M, M]      DBP decorrelation matrix (identity without DBP); fixed
//   S_hat  [H, M, M]      Ŝ, the tuned kernel state
//   Q      [H, N, M]      fixed random up-projection
//   o      [B, T, H, N]   output;   z [B, T, H, M] = R·φ (DBP needs mean z zᵀ; no gradient)
//
// Backward, given d_o = ∂L/∂o [B, T, H, N] (C, gamma, R, Q are fixed: no gradients):
//   dS0 = Σ_{b,t} d_o qᵀ                       [H, N, N]
//   dŜ  = Σ_{b,t} (Qᵀ d_o) zᵀ                  [H, M, M]
//   gz  = Ŝᵀ Qᵀ d_o,  gφ = Rᵀ gz
//   dq  = S0ᵀ d_o + Σ_m gφ_m · ∂φ_m/∂q,
//   ∂φ_m/∂q = e_m u + n e_m (−2γ) (I − u uᵀ)(u − c_m) / n = e_m [u + 2γ (c_m − (u·c_m) u)]
//   (the last step uses (I − u uᵀ) u = 0, i.e. ‖u‖ = 1; exact for any c_m).
//
// q → 0: φ is degree-1 homogeneous (|φ_m| ≤ ‖q‖ · 1), so φ → 0 continuously; at ‖q‖ = 0 it
// is not differentiable (like ‖q‖ itself: the one-sided derivative along d is ‖d‖·e(d/‖d‖),
// not linear in d). Convention: when n ≤ kKernelReadoutEps the token has φ = 0, z = 0 and
// the feature term of dq is 0 (dq = S0ᵀ d_o) — the same choice PyTorch makes for the
// gradient of ‖q‖ at 0. The forward then deviates from n·e by at most eps·max e ≤ 1e-12,
// and for n > eps every gradient is bounded by |gφ|·(1 + 4γ‖c‖), so nothing is NaN
// or huge anywhere (the threshold also keeps q/n finite when fp32 squares underflow).
//
// Implementations: `_ref` plain loops with float64 accumulation (the definition; CPU only;
// its dq uses the unsimplified projector form above, so it also checks the simplification
// used by `_cpu`), `_cpu` batched ATen matmuls over [H, B·T, ·] (plain ATen ops, so it runs
// on any device the tensors live on), and the autograd op `kernel_readout`.
#include <ATen/ATen.h>

namespace statetune::kernels {

// Below this norm a query has no direction: φ = 0 and no feature gradient (see above).
constexpr double kKernelReadoutEps = 1e-12;

struct KernelReadoutOutput {
  at::Tensor o;  // [B, T, H, N], dtype of q
  at::Tensor z;  // [B, T, H, M], dtype of q; R·φ(q)
};

struct KernelReadoutGrads {
  at::Tensor dq;      // [B, T, H, N]
  at::Tensor dS0;     // [H, N, N] summed over batch and tokens; undefined if S0 was
  at::Tensor dS_hat;  // [H, M, M] summed over batch and tokens
};

// Checks shapes, dtypes and devices; throws statetune::Error naming the argument, the
// expected shape (with the numbers implied by q and C) and what it got. d_o may be undefined
// (forward-only check); when given it must have q's shape.
void kernel_readout_check_inputs(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                 const at::Tensor& gamma, const at::Tensor& R, const at::Tensor& S_hat,
                                 const at::Tensor& Q, const at::Tensor& d_o = at::Tensor());

KernelReadoutOutput kernel_readout_forward_ref(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q);
KernelReadoutGrads kernel_readout_backward_ref(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q,
                                               const at::Tensor& d_o);

// Fast path. The backward recomputes the features from q (cheap: one [B·T, N]×[N, M]
// product per head) instead of saving them, so it needs only the inputs.
KernelReadoutOutput kernel_readout_forward_cpu(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q);
KernelReadoutGrads kernel_readout_backward_cpu(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q,
                                               const at::Tensor& d_o);

// The outputs' shapes alone, for inputs on the meta device (a dry run, see wkv7_forward_meta).
KernelReadoutOutput kernel_readout_forward_meta(const at::Tensor& q, const at::Tensor& S_hat);
KernelReadoutGrads kernel_readout_backward_meta(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& S_hat);

// The autograd op the model uses (fast path both ways). Returns {o, z}: o is differentiable
// with respect to q, S0 and S_hat; z is marked non-differentiable (DBP statistics only).
// C, gamma, R and Q must not require grad (they are fixed buffers); checked.
KernelReadoutOutput kernel_readout(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                   const at::Tensor& gamma, const at::Tensor& R, const at::Tensor& S_hat,
                                   const at::Tensor& Q);

}  // namespace statetune::kernels
