// Output tensors of the CPU kernels: large ones come from a cache of reused, huge-page-backed
// buffers.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>

namespace statetune::kernels {

// Uninitialised CPU tensor of `sizes`, like at::empty. From kLargeOutputBytes up, its memory is
// a buffer of the large-output cache: 2 MiB aligned, advised as transparent huge pages, and
// handed back to the cache (not to the system) when the tensor dies, for the next call that
// needs the same number of bytes.
//
// Why: LibTorch's CPU allocator takes tensors this large straight from mmap and unmaps them
// when they are freed, so every call's outputs were fresh pages that the OS had to zero on
// first touch. On this project's VMs that took 0.4-0.7 s per GiB, slower than the kernels
// themselves: for (B=8, T=4096, H=64, N=64) the backward spent more time in the kernel's
// page clearing than in its arithmetic (perf). A training loop asks for the same shapes every
// step, so reused buffers skip it; huge pages make the first touch cheaper too.
at::Tensor empty_large_output(at::IntArrayRef sizes, const at::TensorOptions& options);

constexpr size_t kLargeOutputBytes = size_t{8} << 20;

// Idle buffers are kept up to a cap: STATETUNE_KERNEL_CACHE_MIB if set (0 turns reuse off),
// else a quarter of physical memory (or set_large_output_cache_cap). Past it, the least recently returned ones are freed.
struct LargeOutputCacheStats {
  size_t idle_bytes = 0;  // held by the cache, not by any tensor
  size_t cap_bytes = 0;
  int64_t reused = 0;     // buffers handed out again
  int64_t allocated = 0;  // buffers taken from the system
};
LargeOutputCacheStats large_output_cache_stats();

// Frees every idle buffer (tensors alive keep theirs, and return them later as usual).
void release_large_output_cache();

// Sets the cap on idle bytes (0: no reuse), freeing the oldest idle buffers now if needed.
void set_large_output_cache_cap(size_t bytes);

}  // namespace statetune::kernels
