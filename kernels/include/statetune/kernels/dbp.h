#pragma once
// Decorrelated backpropagation (DBP) for the kernel read-out (METHOD.md §3). The input of
// the tuned map Ŝ is z = R·φ(q); R [H, M, M] is a buffer per (layer, head), R_0 = I, not
// trained by autograd but moved after each optimiser step by decorbp's normalized rule:
//
//   X  = mean over real (batch, token) positions of z zᵀ      (not de-meaned)
//   C  = X − diag(X),   v = diag(X) − 1
//   ΔR = λ · [ (1−κ)/(M−1) · C·R + 2κ · diag(v)·R ]
//   ΔR ← ΔR · min(1, max_rel_step · ‖R‖_F / ‖ΔR‖_F)             per head (our clip)
//   R  ← R − ΔR
//   L_decor = [ (1−κ)/(M−1) · Σ C_ij² + κ · Σ v_i² ] / M         per head
//
// X is a mean over every rank's tokens: callers reduce the *sums* and the count through the
// Communicator, then divide, so R stays identical on every rank. M = 1 has no off-diagonal
// part: its (1−κ)/(M−1) term is taken as 0.
//
// `_ref` are plain loops in float64 (the definition); `_cpu` are ATen ops (any device).
#include <ATen/ATen.h>

namespace statetune::kernels {

struct DbpOptions {
  double lambda = 1.0;        // dbp_lambda; 0 leaves R unchanged
  double kappa = 1e-3;
  double max_rel_step = 0.1;  // dbp_max_rel_step; <= 0 disables the clip
};

struct DbpStep {
  at::Tensor R;        // [H, M, M] the updated R (a new tensor; the input is not modified)
  at::Tensor l_decor;  // [H] L_decor of X (before the update), float64
  at::Tensor scale;    // [H] the clip factor applied to ΔR (1 when not clipped), float64
};

// z [B, T, H, M], mask [B, T] bool (undefined: every position) -> Σ z zᵀ over masked
// positions, [H, M, M] float64 (summed in float64 so the reduction order matters less).
at::Tensor dbp_second_moment_sum_ref(const at::Tensor& z, const at::Tensor& mask);
at::Tensor dbp_second_moment_sum_cpu(const at::Tensor& z, const at::Tensor& mask);

// R [H, M, M], X [H, M, M] (the mean): one update step. R keeps its dtype.
DbpStep dbp_update_ref(const at::Tensor& R, const at::Tensor& X, const DbpOptions& options);
DbpStep dbp_update_cpu(const at::Tensor& R, const at::Tensor& X, const DbpOptions& options);

// Mean absolute off-diagonal correlation of X per head [H] (X as a second moment: corr_ij =
// X_ij / sqrt(X_ii X_jj)); a diagnostic of how decorrelated z is. Heads with a zero diagonal
// entry count those pairs as 0.
at::Tensor mean_abs_offdiag_correlation(const at::Tensor& X);

}  // namespace statetune::kernels
