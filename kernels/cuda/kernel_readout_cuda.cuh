#pragma once
// The kernel read-out (statetune/kernels/kernel_readout.h, METHOD.md §2–§3) on the GPU: host
// launchers on raw device pointers.
//
// This header is plain C++ (no __global__, no CUDA types beyond cudaStream_t/cudaError_t) so
// host code compiled by g++ (the torch glue, tests) can include it. It never includes torch.
// Same op and conventions as kernel_readout.h (`_ref` / `_cpu`). Per token t and head h:
//   n = ‖q‖, u = q/n;   e_m = exp(−γ_h ‖u − c_m‖²),  φ_m = n·e_m   (u = 0, φ = 0 when n ≤ 1e-12)
//   z = R φ [M],   o = S0 q + Q Ŝ z [N]
// Backward, given d_o (C, γ, R, Q are fixed):
//   dS0 = Σ_{b,t} d_o qᵀ,   dŜ = Σ_{b,t} (Qᵀ d_o) zᵀ,   gφ = Rᵀ Ŝᵀ Qᵀ d_o,
//   dq  = S0ᵀ d_o + Σ_m gφ_m e_m [u + 2γ (c_m − (u·c_m) u)]   (feature term 0 when n ≤ 1e-12)
//
// Layouts: every array is contiguous, row-major, fp32 (the model runs the read-out in fp32; the
// float64 path of kernel_readout.h stays on the CPU):
//   q, o, d_o, dq [B, T, H, N];  z [B, T, H, M];  S0, dS0 [H, N, N];  C [H, M, N];  gamma [H];
//   R, S_hat, dS_hat [H, M, M];  Q [H, N, M].
//   N ∈ {16, 32, 64, 128}; 1 ≤ M ≤ kKernelReadoutCudaMaxM; B, T ≥ 1; 1 ≤ H ≤ 65535.
//
// Design. A tiny "prep" step first builds, per head, W = Q·Ŝ·R [N, M] (so o = S0 q + W φ and
// gφ = Wᵀ d_o: the per-token cost is O(N·M), plus O(M²) only for z = Rφ when z is wanted) and transposed / zero-padded copies of
// C, W, R, S0, with M padded to Mp = a multiple of 32 (padded features are masked to φ = 0).
//   Forward: one 256-thread block per (tile of TT tokens, head); TT = 32 (N ≤ 64) or 16
//   (N = 128). The block stages q and u = q/n of its tile in shared memory and walks the
//   support vectors in chunks of 32: d² = ‖u − c_m‖² (a register-tiled block product),
//   φ = n·exp(−γ d²) into shared memory, then o += W φ in registers and, when z is wanted,
//   z += R φ (accumulated chunk by chunk in z itself: each element is owned by one thread).
//   Backward: one block per (slice s, head); slice s handles the tiles s, s + S, s + 2S, ...
//   (S fixed by B, T, H, N alone, see kernel_readout_cuda_backward_slices). Per tile it recomputes
//   the features, forms gφ = Wᵀ d_o and w = gφ ⊙ e per chunk, and accumulates
//   dq = S0ᵀ d_o + 2γ Σ_m w_m c_m + u Σ_m w_m (1 − 2γ u·c_m) in registers
//   (u·c_m = (1 + ‖c_m‖² − d²)/2). The token sums
//   Σ d_o qᵀ [N, N] and P = Σ d_o φᵀ [N, M] go to per-(head, slice) partials in the workspace
//   (each written only by its own block); a second kernel adds the S partials in slice order
//   and dŜ = Qᵀ P Rᵀ is formed per head. No atomics anywhere, and the partition depends only
//   on the sizes (not on the device), so every output is bit-reproducible run to run.
//
// Accuracy versus the float64 reference (kernel_readout_ref.cpp): fp32 with fp32 accumulation
// throughout, except the per-token norm ‖q‖ and u = q/‖q‖ (float64, so u is exact to fp32
// rounding and the eps test is the reference's). d² = ‖u − c‖² is summed directly, so its rounding error is relative to d² and the
// large features (c near u) are accurate to a few ulp; e = exp(−γd²) then carries a relative
// error of about γ·d²·√N·2^-24. o = (QŜR) φ reassociates the reference's Q(Ŝ(Rφ)); the token
// sums run over tiles of TT tokens, then tiles, then slices. Expected relative norm errors on
// random data (γ ≤ 4, M ≤ 512, B·T ≤ 10⁴): up to ~1e-6 for o, z, dq and dŜ, ~2e-7 for dS0
// (measured in a CPU emulation of these kernels); tests/gpu uses 1e-5.
//
// All launches are asynchronous on `stream`; launchers return cudaErrorInvalidValue (without
// launching) on bad arguments, else the launch status (cudaGetLastError()).
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace statetune::kernels {

// Largest M the launchers accept (workspace indexing stays far inside int64; the sweeps use
// M = 32..256).
constexpr int64_t kKernelReadoutCudaMaxM = 8192;

// Bytes of workspace that kernel_readout_forward_cuda / _backward_cuda need for these sizes
// (one size serves both; the forward uses only the per-head prep part). 0 for invalid sizes.
// Roughly 4·H·(7·N·Mp + Mp² + N² + S·(N² + N·Mp)) bytes, Mp = M rounded up to 32, S the
// backward's slices per head (max(1, 512 / H), at most one per tile). No initialisation is
// needed.
size_t kernel_readout_cuda_workspace_bytes(int64_t B, int64_t T, int64_t H, int64_t N, int64_t M);

// Slices per head of the backward (the number of partial sums added per head): fixed by the
// sizes alone, so results do not depend on the device. 0 for invalid sizes.
int64_t kernel_readout_cuda_backward_slices(int64_t B, int64_t T, int64_t H, int64_t N);

struct KernelReadoutForwardParams {
  int64_t B = 0, T = 0, H = 0, N = 0, M = 0;
  const float* q = nullptr;      // [B, T, H, N]; required
  const float* S0 = nullptr;     // [H, N, N]; nullptr = zero (METHOD's `linear: false`)
  const float* C = nullptr;      // [H, M, N]; required
  const float* gamma = nullptr;  // [H]; required
  const float* R = nullptr;      // [H, M, M]; required
  const float* S_hat = nullptr;  // [H, M, M]; required
  const float* Q = nullptr;      // [H, N, M]; required
  float* o = nullptr;            // [B, T, H, N]; required
  float* z = nullptr;            // [B, T, H, M]; optional (nullptr = not wanted)
  float* workspace = nullptr;    // kernel_readout_cuda_workspace_bytes(...); required
};

struct KernelReadoutBackwardParams {
  int64_t B = 0, T = 0, H = 0, N = 0, M = 0;
  // The forward's inputs (the features are recomputed from q); S0 may be nullptr (= zero).
  const float *q = nullptr, *S0 = nullptr, *C = nullptr, *gamma = nullptr, *R = nullptr, *S_hat = nullptr,
              *Q = nullptr;
  const float* d_o = nullptr;  // [B, T, H, N]; required
  // Gradients; each optional (nullptr = not wanted). dS0 = Σ d_o qᵀ does not depend on S0,
  // so it is computed whenever dS0 is given (the caller passes nullptr when S0 is absent).
  float* dq = nullptr;         // [B, T, H, N]
  float* dS0 = nullptr;        // [H, N, N], summed over batch and tokens
  float* dS_hat = nullptr;     // [H, M, M], summed over batch and tokens
  float* workspace = nullptr;  // kernel_readout_cuda_workspace_bytes(...); required
};

// Launch the forward / backward on `stream`. The workspace must not be used by anything else
// until the launched work is done (stream order).
cudaError_t kernel_readout_forward_cuda(const KernelReadoutForwardParams& p, cudaStream_t stream);
cudaError_t kernel_readout_backward_cuda(const KernelReadoutBackwardParams& p, cudaStream_t stream);

}  // namespace statetune::kernels
