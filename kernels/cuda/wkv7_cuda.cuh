#pragma once
// WKV-7 forward and backward on the GPU: host launchers on raw device pointers.
//
// This header is plain C++ (no __global__, no CUDA types beyond cudaStream_t/cudaError_t) so
// host code compiled by g++ (the torch glue, tests) can include it. It never includes torch.
// Same op and conventions as statetune/kernels/wkv7.h (the CPU `_ref` / `_cpu` versions):
//
// Per batch b, head h, the fp32 state S [N, N] (row i = value index, column j = key index):
//   sa_i    = Σ_j S[i][j]·a_j
//   S[i][j] = S[i][j]·w_j + sa_i·b_j + v_i·k_j
//   y_i     = Σ_j S[i][j]·r_j                      (reads the NEW state)
//   * r, w, k, v, a, b, y and their gradients are [B, T, H, N], contiguous, all of one dtype
//     (fp32, bf16 or fp16); `w` is the decay d itself in (0, 1), `a` = α = -kk, `b` = β = kk·a.
//   * The state and everything about it (s0, sT, dsT, ds0, workspaces) is fp32.
//   * s0 is [B, H, N, N], or [H, N, N] shared by the batch (`s0_shared`); then ds0 is [H, N, N]
//     summed over the batch.
//   * N ∈ {16, 32, 64, 128}; B, T, H ≥ 1.
//
// Design (BlinkDL's wkv7 / ggml's rwkv_wkv7 layout): one thread block per (b, h), N threads.
//   Forward: thread i owns state row i in registers; each step's r, w, k, a, b are staged in
//   shared memory. Saves the state before steps 0, 16, 32, ... ("checkpoints") and sa_t for
//   every step, which is all the backward needs besides the inputs.
//   Backward: thread j owns column j of S and of G = dL/dS, plus row j of G, so every
//   reduction it needs is local to one thread. Inside each 16-step chunk it RECOMPUTES the
//   states forward from the chunk's checkpoint (into `backward_scratch`) instead of
//   "backstepping" S_{t-1} = (S_t - v kᵀ - sa bᵀ) diag(1/w): recomputation uses the forward's
//   exact arithmetic, so the states are bit-identical to the forward's and there is no 1/w
//   error growth (no decay clamp is needed for accuracy).
// All launches are asynchronous on `stream`; launchers return cudaErrorInvalidValue (without
// launching) on bad arguments, else the launch status (cudaGetLastError()).
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace statetune::kernels {

// Steps between two saved states (matches kWkv7Chunk of the CPU path, so the checkpoint
// layouts of the two paths agree).
constexpr int kWkv7CudaChunk = 16;

enum class Wkv7DType : int { kF32 = 0, kBF16 = 1, kF16 = 2 };

// Bytes of each workspace for a problem of this size (0 for invalid sizes).
struct Wkv7CudaWorkspace {
  size_t checkpoints_bytes;       // fp32 [B, H, ceil(T / 16), N, N]: the state before step 16c
  size_t sa_bytes;                // fp32 [B, T, H, N]: sa_t = S_{t-1} a_t of every step
  size_t backward_scratch_bytes;  // fp32 [B, H, 16, N, N]: one chunk's recomputed states
};
Wkv7CudaWorkspace wkv7_cuda_workspace_sizes(int64_t B, int64_t T, int64_t H, int64_t N);

struct Wkv7ForwardParams {
  Wkv7DType dtype = Wkv7DType::kF32;
  int64_t B = 0, T = 0, H = 0, N = 0;
  // Inputs [B, T, H, N] of `dtype`; required.
  const void *r = nullptr, *w = nullptr, *k = nullptr, *v = nullptr, *a = nullptr, *b = nullptr;
  const float* s0 = nullptr;  // [B, H, N, N], or [H, N, N] when s0_shared; nullptr = zero state
  bool s0_shared = false;
  void* y = nullptr;      // [B, T, H, N] of `dtype`; required
  float* sT = nullptr;    // [B, H, N, N]; optional
  // Saved for the backward; both optional (inference passes nullptr). A backward needs both.
  float* checkpoints = nullptr;  // [B, H, ceil(T / 16), N, N]
  float* sa = nullptr;           // [B, T, H, N]
};

struct Wkv7BackwardParams {
  Wkv7DType dtype = Wkv7DType::kF32;
  int64_t B = 0, T = 0, H = 0, N = 0;
  // The forward's inputs; required. (s0 itself is not needed: it is checkpoint 0.)
  const void *r = nullptr, *w = nullptr, *k = nullptr, *v = nullptr, *a = nullptr, *b = nullptr;
  const float* checkpoints = nullptr;  // from the forward; required
  const float* sa = nullptr;           // from the forward; required
  const void* dy = nullptr;            // [B, T, H, N] of `dtype`; required
  const float* dsT = nullptr;          // [B, H, N, N]; nullptr = sT's gradient is zero
  bool s0_shared = false;              // the forward's flag: decides ds0's shape
  // Gradients [B, T, H, N] of `dtype`. Each is optional: nullptr skips writing it (layer 0 of
  // a state-tuning model needs only ds0).
  void *dr = nullptr, *dw = nullptr, *dk = nullptr, *dv = nullptr, *da = nullptr, *db = nullptr;
  // [B, H, N, N], or [H, N, N] when s0_shared (the batch sum, deterministic: per-batch
  // gradients go to backward_scratch and a second kernel adds them in batch order). Optional.
  float* ds0 = nullptr;
  float* backward_scratch = nullptr;  // [B, H, 16, N, N]; required
};

// Launch the forward / backward on `stream`.
cudaError_t wkv7_forward_cuda(const Wkv7ForwardParams& p, cudaStream_t stream);
cudaError_t wkv7_backward_cuda(const Wkv7BackwardParams& p, cudaStream_t stream);

// Number of usable CUDA devices; 0 on any error (without a GPU cudaGetDeviceCount fails, e.g.
// with 35 = cudaErrorInsufficientDriver, and leaves the count untouched).
int wkv7_cuda_device_count();

}  // namespace statetune::kernels
