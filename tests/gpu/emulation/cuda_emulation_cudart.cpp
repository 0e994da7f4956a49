// The CPU emulation's fake CUDA runtime (see cuda_emulation.h): exactly the cuda* calls that
// kernels/cuda and tests/gpu make, with cuda_runtime_api.h's C signatures so the callers compile
// unchanged. Linked INSTEAD of cudart; "device" memory is host memory, and everything is
// synchronous (kernels run inside the launch).
#include "cuda_emulation.h"  // and cuda_runtime_api.h

#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {

cudaError_t cudaMalloc(void** ptr, size_t size) {
  if (ptr == nullptr) return cudaErrorInvalidValue;
  // 256-byte aligned like cudaMalloc; filled with 0xff (NaN as float): device memory starts as garbage.
  const size_t bytes = (size + 255) / 256 * 256;
  *ptr = std::aligned_alloc(256, bytes == 0 ? 256 : bytes);
  if (*ptr == nullptr) return cudaErrorMemoryAllocation;
  std::memset(*ptr, 0xff, bytes == 0 ? 256 : bytes);
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return cudaErrorInvalidMemcpyDirection;
  if (count > 0 && (dst == nullptr || src == nullptr)) return cudaErrorInvalidValue;
  if (count > 0) std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t cudaMemset(void* dst, int value, size_t count) {
  if (count > 0 && dst == nullptr) return cudaErrorInvalidValue;
  if (count > 0) std::memset(dst, value, count);
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }  // launches are synchronous

cudaError_t cudaGetLastError(void) { return statetune::cuda_emulation::take_launch_error(); }

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return cudaErrorInvalidValue;
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return cudaErrorInvalidValue;
  if (device != 0) return cudaErrorInvalidDevice;
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "%s", "CPU emulation of the CUDA execution model (not a GPU)");
  // major = minor = 0: no compute capability is claimed.
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->warpSize = 32;
  prop->multiProcessorCount = 1;
  prop->sharedMemPerBlock = 48 << 10;
  return cudaSuccess;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    default: return "cudaErrorUnknown (not produced by the emulation)";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  return error == cudaSuccess ? "no error" : cudaGetErrorName(error);
}

}  // extern "C"
