#pragma once
// What every CUDA adapter in kernels/glue/ needs: the device guard and stream of a tensor,
// tensor checks with readable errors, and turning a launcher's cudaError_t into an Error.
// Compiled only against a CUDA LibTorch (and, in CI, syntax-compiled against Debian's
// headers; see kernels/CMakeLists.txt).
#include <ATen/ATen.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>

#include <string>

#include "statetune/common/error.h"
#include "statetune/kernels/shape_str.h"

namespace statetune::kernels::glue {

inline std::string describe(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("{} {} on {}", c10::toString(t.scalar_type()), statetune::shape_str(t.sizes()), t.device().str());
}

// `t` must be defined, on `device`, of `dtype`, with exactly `sizes`.
inline void expect_tensor(const char* op, const char* name, const at::Tensor& t, at::Device device,
                          at::ScalarType dtype, at::IntArrayRef sizes) {
  ST_CHECK(t.defined() && t.device() == device && t.scalar_type() == dtype && t.sizes() == sizes,
           "{}: {} must be {} {} on {}, got {}", op, name, c10::toString(dtype), statetune::shape_str(sizes),
           device.str(), describe(t));
}

// The current stream of the device the tensor lives on (what ATen's own ops use).
inline cudaStream_t stream_of(const at::Tensor& t) {
  return c10::cuda::getCurrentCUDAStream(t.device().index()).stream();
}

inline void check_launch(const char* op, cudaError_t status) {
  ST_CHECK(status == cudaSuccess, "{}: CUDA kernel launch failed: {} ({})", op, cudaGetErrorName(status),
           cudaGetErrorString(status));
}

inline float* f32_or_null(const at::Tensor& t) { return t.defined() ? t.data_ptr<float>() : nullptr; }

}  // namespace statetune::kernels::glue
