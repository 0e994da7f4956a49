// The stand-in for builds against a CPU-only LibTorch (see cuda_backend.h); kernels/glue/ has
// the real functions. Reached only with tensors on a CUDA device, which such a LibTorch cannot
// even create, so the message is mostly for a LibTorch with CUDA that CMake did not detect.
#ifndef STATETUNE_WITH_TORCH_CUDA
#include "statetune/common/error.h"
#include "statetune/kernels/cuda_backend.h"

namespace statetune::kernels {
namespace {

[[noreturn]] void no_cuda_build(const char* op) {
  fail("{}: tensors are on a CUDA device, but this statetune was built against a LibTorch without CUDA "
       "(CMake: STATETUNE_TORCH_CUDA OFF); rebuild with a CUDA LibTorch on CMAKE_PREFIX_PATH "
       "(see ../shared/gpu-machine/) or run on the CPU",
       op);
}

}  // namespace

bool cuda_backend_compiled() { return false; }

int cuda_device_count() { return 0; }
void cuda_set_device(int) { no_cuda_build("cuda_set_device"); }
std::string cuda_device_description(int) { return "no CUDA in this build"; }
std::string cuda_versions() { return "no CUDA in this build"; }
void cuda_synchronize(int) {}
CudaMemoryPeak cuda_memory_peak(int) { return {}; }
void cuda_reset_memory_peak(int) {}

Wkv7CudaSavedForward wkv7_forward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                       const at::Tensor&, const at::Tensor&, const at::Tensor&, bool) {
  no_cuda_build("wkv7");
}

Wkv7Grads wkv7_backward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                             const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&,
                             const at::Tensor&, const at::Tensor&, const at::Tensor&) {
  no_cuda_build("wkv7 backward");
}

KernelReadoutOutput kernel_readout_forward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                const at::Tensor&) {
  no_cuda_build("kernel_readout");
}

KernelReadoutGrads kernel_readout_backward_cuda(const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                const at::Tensor&, const at::Tensor&, const at::Tensor&,
                                                const at::Tensor&, const at::Tensor&) {
  no_cuda_build("kernel_readout backward");
}

}  // namespace statetune::kernels
#endif
