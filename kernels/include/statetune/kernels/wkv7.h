#pragma once
// The WKV-7 recurrence with an initial state, and its backward (frozen model: no weight
// gradients, but every input gradient and dS0).
//
// Per batch b, head h, with the state S [N, N] (row i = value index, column j = key index):
//   sa_i    = Σ_j S[i][j]·a_j
//   S[i][j] = S[i][j]·w_j + sa_i·b_j + v_i·k_j        (S_t = S_{t-1}(diag(w) + a bᵀ) + v kᵀ)
//   y_i     = Σ_j S[i][j]·r_j                          (reads the NEW state)
// Conventions:
//   * r, w, k, v, a, b are [B, T, H, N]. `w` is the decay d itself, in (0, 1) — not its log:
//     the model computes d = exp(-e^{-0.5}·σ(w_raw)) with autograd, so the op stays generic.
//     `a`, `b` are the kernel's α = -kk and β = kk ⊙ a (not the model's `a`).
//   * s0 is [B, H, N, N] (per sequence) or [H, N, N] (shared by the batch; then ds0 is summed
//     over the batch), or undefined (zero).
//   * Outputs y [B, T, H, N] and sT [B, H, N, N].
// Implementations: `_ref` plain loops with float64 accumulation (the definition, the oracle)
// and `_cpu` (parallel over (batch, head), state checkpoints every kWkv7CpuCheckpointEvery steps).
#include <ATen/ATen.h>

namespace statetune::kernels {

struct Wkv7Output {
  at::Tensor y;   // [B, T, H, N], dtype of the inputs
  at::Tensor sT;  // [B, H, N, N], dtype of the inputs (fp32 or fp64)
};

struct Wkv7Grads {
  at::Tensor dr, dw, dk, dv, da, db;  // [B, T, H, N]
  at::Tensor ds0;                     // shape of s0 ([B,H,N,N] or [H,N,N]); undefined if s0 was
};

// Checks shapes, dtypes and devices of the op's inputs; throws statetune::Error naming the
// argument and what was expected. wkv7_check_shapes checks all but the dtype rules, which
// differ by device (CPU: fp32/fp64 with s0 alike; CUDA: see cuda_backend.h).
void wkv7_check_shapes(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0);
void wkv7_check_inputs(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0);

Wkv7Output wkv7_forward_ref(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0);
// dsT may be undefined (the final state's gradient is zero).
Wkv7Grads wkv7_backward_ref(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0, const at::Tensor& dy,
                            const at::Tensor& dsT);

// Fast CPU path. The backward does not keep every state: the forward saves the state every
// kWkv7CpuCheckpointEvery steps (`checkpoints`, [B, H, ceil(T / kWkv7CpuCheckpointEvery), N, N])
// and the backward recomputes the states inside one chunk at a time, forward from its
// checkpoint. Recomputing forward (rather than stepping backwards through 1/d) costs one extra
// forward but has no error growth, so the gradients match the reference to fp32 rounding.
// Each worker thread also keeps a scratch buffer (≤ 1.5 MiB at N = 128) between calls.
constexpr int64_t kWkv7CpuCheckpointEvery = 64;
// The CUDA kernels' interval (kernels/cuda/wkv7_cuda.cuh: kWkv7CudaChunk).
constexpr int64_t kWkv7Chunk = 16;

struct Wkv7SavedForward {
  Wkv7Output out;
  at::Tensor checkpoints;  // [B, H, ceil(T / kWkv7CpuCheckpointEvery), N, N]
};

Wkv7SavedForward wkv7_forward_cpu(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k,
                                  const at::Tensor& v, const at::Tensor& a, const at::Tensor& b,
                                  const at::Tensor& s0);
Wkv7Grads wkv7_backward_cpu(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0,
                            const at::Tensor& checkpoints, const at::Tensor& dy, const at::Tensor& dsT);

// The outputs' shapes and dtypes alone, for inputs on the meta device (a dry run that checks
// device placement, workers/host_device.h): tensors without values.
Wkv7Output wkv7_forward_meta(const at::Tensor& r, const at::Tensor& s0);
Wkv7Grads wkv7_backward_meta(const at::Tensor& r, const at::Tensor& s0);

// The autograd op the model uses: forward + backward through the fast CPU path, gradients
// for every input that requires grad (s0 included). Returns {y, sT}. Inputs may also be
// bf16 or fp16: the state and arithmetic are then fp32, y is returned in the input dtype
// and sT in fp32 (s0, if given, must be fp32).
Wkv7Output wkv7(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0);

}  // namespace statetune::kernels
