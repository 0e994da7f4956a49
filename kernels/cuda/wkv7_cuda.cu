// Host launchers of the WKV-7 CUDA kernels: argument checks, dtype x N dispatch, launch.
// See wkv7_cuda.cuh for the op, the layouts and the design; the kernels are in
// wkv7_cuda_kernels.cuh.
#include "wkv7_cuda.cuh"
#include "cuda_launch.cuh"  // before the device code: under emulation it defines threadIdx etc.
#include "wkv7_cuda_kernels.cuh"

#include <climits>

namespace statetune::kernels {
namespace {

using wkv7_detail::kChunk;
static_assert(kChunk == kWkv7CudaChunk, "chunk length must agree between header and kernels");

bool supported_n(int64_t N) { return N == 16 || N == 32 || N == 64 || N == 128; }

// Sizes the kernels can index: T and H fit an int, B·H blocks fit gridDim.x.
bool valid_dims(int64_t B, int64_t T, int64_t H, int64_t N) {
  return B >= 1 && T >= 1 && H >= 1 && supported_n(N) && T <= INT_MAX && H <= INT_MAX && B <= INT_MAX / H;
}

bool valid_dtype(Wkv7DType d) {
  return d == Wkv7DType::kF32 || d == Wkv7DType::kBF16 || d == Wkv7DType::kF16;
}

// ---- forward -------------------------------------------------------------------------------
template <int N, typename T>
cudaError_t launch_forward(const Wkv7ForwardParams& p, cudaStream_t stream) {
  const auto* r = static_cast<const T*>(p.r);
  const auto* w = static_cast<const T*>(p.w);
  const auto* k = static_cast<const T*>(p.k);
  const auto* v = static_cast<const T*>(p.v);
  const auto* a = static_cast<const T*>(p.a);
  const auto* b = static_cast<const T*>(p.b);
  ST_CUDA_LAUNCH(static_cast<unsigned>(p.B * p.H), N, stream, wkv7_detail::wkv7_forward_kernel<N, T>)(
      static_cast<int>(p.T), static_cast<int>(p.H), r, w, k, v, a, b, p.s0, p.s0_shared,
      static_cast<T*>(p.y), p.sT, p.checkpoints, p.sa);
  return cudaGetLastError();
}

template <typename T>
cudaError_t dispatch_forward(const Wkv7ForwardParams& p, cudaStream_t stream) {
  switch (p.N) {
    case 16: return launch_forward<16, T>(p, stream);
    case 32: return launch_forward<32, T>(p, stream);
    case 64: return launch_forward<64, T>(p, stream);
    case 128: return launch_forward<128, T>(p, stream);
    default: return cudaErrorInvalidValue;
  }
}

// ---- backward ------------------------------------------------------------------------------
template <int N, typename T>
cudaError_t launch_backward(const Wkv7BackwardParams& p, cudaStream_t stream) {
  const int64_t NN = p.N * p.N;
  // ds0 goes straight to the output unless a shared s0 must be summed over B > 1 sequences.
  const bool reduce = p.ds0 != nullptr && p.s0_shared && p.B > 1;
  float* ds0_direct = reduce ? nullptr : p.ds0;
  ST_CUDA_LAUNCH(static_cast<unsigned>(p.B * p.H), N, stream, wkv7_detail::wkv7_backward_kernel<N, T>)(
      static_cast<int>(p.T), static_cast<int>(p.H), static_cast<const T*>(p.r), static_cast<const T*>(p.w),
      static_cast<const T*>(p.k), static_cast<const T*>(p.v), static_cast<const T*>(p.a),
      static_cast<const T*>(p.b), p.checkpoints, p.sa, static_cast<const T*>(p.dy), p.dsT,
      static_cast<T*>(p.dr), static_cast<T*>(p.dw), static_cast<T*>(p.dk), static_cast<T*>(p.dv),
      static_cast<T*>(p.da), static_cast<T*>(p.db), ds0_direct, p.backward_scratch);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess || !reduce) return err;
  constexpr int kThreads = 256;
  const int64_t total = p.H * NN;
  const auto blocks = static_cast<unsigned>((total + kThreads - 1) / kThreads);
  ST_CUDA_LAUNCH(blocks, kThreads, stream, wkv7_detail::wkv7_reduce_ds0_kernel)(
      static_cast<int>(p.B), static_cast<int>(p.H), NN, p.backward_scratch, p.ds0);
  return cudaGetLastError();
}

template <typename T>
cudaError_t dispatch_backward(const Wkv7BackwardParams& p, cudaStream_t stream) {
  switch (p.N) {
    case 16: return launch_backward<16, T>(p, stream);
    case 32: return launch_backward<32, T>(p, stream);
    case 64: return launch_backward<64, T>(p, stream);
    case 128: return launch_backward<128, T>(p, stream);
    default: return cudaErrorInvalidValue;
  }
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------
Wkv7CudaWorkspace wkv7_cuda_workspace_sizes(int64_t B, int64_t T, int64_t H, int64_t N) {
  Wkv7CudaWorkspace ws{0, 0, 0};
  if (B < 1 || T < 1 || H < 1 || N < 1) return ws;
  const auto f = sizeof(float);
  const int64_t n_chunks = (T + kWkv7CudaChunk - 1) / kWkv7CudaChunk;
  ws.checkpoints_bytes = static_cast<size_t>(B * H * n_chunks * N * N) * f;
  ws.sa_bytes = static_cast<size_t>(B * T * H * N) * f;
  ws.backward_scratch_bytes = static_cast<size_t>(B * H * kWkv7CudaChunk * N * N) * f;
  return ws;
}

cudaError_t wkv7_forward_cuda(const Wkv7ForwardParams& p, cudaStream_t stream) {
  if (!valid_dtype(p.dtype) || !valid_dims(p.B, p.T, p.H, p.N)) return cudaErrorInvalidValue;
  if (!p.r || !p.w || !p.k || !p.v || !p.a || !p.b || !p.y) return cudaErrorInvalidValue;
  switch (p.dtype) {
    case Wkv7DType::kF32: return dispatch_forward<float>(p, stream);
    case Wkv7DType::kBF16: return dispatch_forward<__nv_bfloat16>(p, stream);
    case Wkv7DType::kF16: return dispatch_forward<__half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t wkv7_backward_cuda(const Wkv7BackwardParams& p, cudaStream_t stream) {
  if (!valid_dtype(p.dtype) || !valid_dims(p.B, p.T, p.H, p.N)) return cudaErrorInvalidValue;
  if (!p.r || !p.w || !p.k || !p.v || !p.a || !p.b || !p.dy) return cudaErrorInvalidValue;
  if (!p.checkpoints || !p.sa || !p.backward_scratch) return cudaErrorInvalidValue;
  switch (p.dtype) {
    case Wkv7DType::kF32: return dispatch_backward<float>(p, stream);
    case Wkv7DType::kBF16: return dispatch_backward<__nv_bfloat16>(p, stream);
    case Wkv7DType::kF16: return dispatch_backward<__half>(p, stream);
  }
  return cudaErrorInvalidValue;
}

int wkv7_cuda_device_count() {
  int count = 0;  // cudaGetDeviceCount leaves it untouched on error
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // do not leave the error behind for the next API call
    return 0;
  }
  return count;
}

}  // namespace statetune::kernels
