#pragma once
// The ops on CUDA tensors: the LibTorch side of the fused CUDA kernels (kernels/cuda/).
//
// These are the `_cuda` third of each op (`_ref`, `_cpu`, `_cuda`). They validate the tensors
// (device, dtype, shape; non-contiguous inputs are copied), allocate the outputs and the
// workspaces as tensors on the inputs' device, and launch the raw-pointer kernels on the
// current stream of that device. The autograd ops `wkv7` and `kernel_readout` call them when
// their inputs live on a CUDA device, so the model's graph needs no change.
//
// Two builds exist (chosen by CMake, see kernels/CMakeLists.txt):
//   * against a CUDA LibTorch: kernels/glue/ defines these functions;
//   * otherwise (Debian's CPU-only LibTorch): src/cuda_backend_unavailable.cpp defines them to
//     throw statetune::Error saying how to get a CUDA build. CI still compiles kernels/glue/
//     against LibTorch's c10/cuda headers (never linking it), so the glue cannot rot.
//
// Conventions beyond the CPU ops' (wkv7.h, kernel_readout.h):
//   * wkv7: inputs fp32, bf16 or fp16 (all alike), N ∈ {16, 32, 64, 128}; the state, s0, sT,
//     dsT and ds0 are fp32 for every input dtype; y and dr..db come in the input dtype.
//   * kernel_readout: fp32 tensors only (the model keeps the read-out in fp32).
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "statetune/kernels/kernel_readout.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {

// True when this build was compiled against a CUDA LibTorch (kernels/glue/ is linked in).
bool cuda_backend_compiled();

// ---- the CUDA devices of this process (all 0 / no-ops without a CUDA build) ----------------
// GPUs LibTorch sees (after CUDA_VISIBLE_DEVICES); 0 without a GPU or a CUDA build.
int cuda_device_count();
// Makes `index` the current device (NCCL, the kernels' streams and ATen's follow it).
void cuda_set_device(int index);
// "NVIDIA H200 (sm_90, 139.8 GiB)".
std::string cuda_device_description(int index);
// "CUDA runtime 13.0, driver 13.0, cuDNN 91900, NCCL 2.28.9" (what this process runs with).
std::string cuda_versions();
// Waits for every kernel queued on the device (benches time whole steps with it).
void cuda_synchronize(int index);
// The caching allocator's peak bytes allocated (tensors) and reserved (held from the driver)
// since the last reset.
struct CudaMemoryPeak {
  int64_t allocated = 0;
  int64_t reserved = 0;
};
CudaMemoryPeak cuda_memory_peak(int index);
void cuda_reset_memory_peak(int index);

// What the CUDA forward keeps for its backward (both undefined when save = false).
struct Wkv7CudaSavedForward {
  Wkv7Output out;          // y in the input dtype, sT fp32
  at::Tensor checkpoints;  // fp32 [B, H, ceil(T / 16), N, N]: the state before steps 0, 16, ...
  at::Tensor sa;           // fp32 [B, T, H, N]: sa_t = S_{t-1} a_t of every step
};

// s0: [B, H, N, N], [H, N, N] (shared) or undefined (zero); fp32.
Wkv7CudaSavedForward wkv7_forward_cuda(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k,
                                       const at::Tensor& v, const at::Tensor& a, const at::Tensor& b,
                                       const at::Tensor& s0, bool save);
// s0 only tells the shape of ds0 (its values are checkpoint 0); dsT may be undefined.
Wkv7Grads wkv7_backward_cuda(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0,
                             const at::Tensor& checkpoints, const at::Tensor& sa, const at::Tensor& dy,
                             const at::Tensor& dsT);

KernelReadoutOutput kernel_readout_forward_cuda(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                                const at::Tensor& gamma, const at::Tensor& R,
                                                const at::Tensor& S_hat, const at::Tensor& Q);
KernelReadoutGrads kernel_readout_backward_cuda(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                                const at::Tensor& gamma, const at::Tensor& R,
                                                const at::Tensor& S_hat, const at::Tensor& Q,
                                                const at::Tensor& d_o);

}  // namespace statetune::kernels
