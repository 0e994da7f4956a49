// The CUDA devices of this process, through LibTorch's CUDA runtime (cuda_backend.h).
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>

#include "statetune/common/error.h"
#include "statetune/kernels/cuda_backend.h"

namespace statetune::kernels {
namespace {

c10::DeviceIndex checked_index(int index) {
  const int count = cuda_device_count();
  ST_CHECK(index >= 0 && index < count, "CUDA device {} does not exist ({} visible)", index, count);
  return static_cast<c10::DeviceIndex>(index);
}

std::string version_str(int v) { return fmt::format("{}.{}", v / 1000, (v % 1000) / 10); }

}  // namespace

bool cuda_backend_compiled() { return true; }

int cuda_device_count() { return static_cast<int>(c10::cuda::device_count()); }

void cuda_set_device(int index) { c10::cuda::set_device(checked_index(index)); }

std::string cuda_device_description(int index) {
  const cudaDeviceProp* p = at::cuda::getDeviceProperties(checked_index(index));
  return fmt::format("{} (sm_{}{}, {:.1f} GiB)", p->name, p->major, p->minor,
                     static_cast<double>(p->totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
}

std::string cuda_versions() {
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  return fmt::format("CUDA runtime {}, driver supports CUDA {}", version_str(runtime), version_str(driver));
}

void cuda_synchronize(int index) {
  const c10::cuda::CUDAGuard guard(checked_index(index));
  c10::cuda::device_synchronize();
}

CudaMemoryPeak cuda_memory_peak(int index) {
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(checked_index(index));
  const auto all = static_cast<size_t>(c10::CachingDeviceAllocator::StatType::AGGREGATE);
  return {stats.allocated_bytes[all].peak, stats.reserved_bytes[all].peak};
}

void cuda_reset_memory_peak(int index) { c10::cuda::CUDACachingAllocator::resetPeakStats(checked_index(index)); }

}  // namespace statetune::kernels
