#include "statetune/kernels/large_output.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <string>

#include "statetune/common/error.h"

namespace statetune::kernels {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t cap_from_environment() {
  if (const char* env = std::getenv("STATETUNE_KERNEL_CACHE_MIB")) {
    char* end = nullptr;
    const unsigned long long mib = std::strtoull(env, &end, 10);
    ST_CHECK(*env != '\0' && *end == '\0' && env[0] != '-',
             "STATETUNE_KERNEL_CACHE_MIB must be a whole number of MiB (0 turns the kernels' buffer reuse off), "
             "got '{}'",
             env);
    return static_cast<size_t>(mib) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) / 4 : 0;
}

class LargeOutputCache {
 public:
  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The most recently returned buffer of this size: its pages are the likeliest to be warm.
      for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
        if (it->bytes == bytes) {
          void* p = it->p;
          idle_bytes_ -= bytes;
          idle_.erase(std::next(it).base());
          ++reused_;
          return p;
        }
      }
    }
    void* p = std::aligned_alloc(kHugePage, bytes);
    if (p == nullptr) {
      release();  // idle buffers of other sizes may be what stands in the way
      p = std::aligned_alloc(kHugePage, bytes);
      if (p == nullptr) throw std::bad_alloc();
    }
#if defined(MADV_HUGEPAGE)
    // A hint: where THP is off the pages stay 4 KiB, so the result is not checked.
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    std::lock_guard<std::mutex> lock(mu_);
    ++allocated_;
    return p;
  }

  void give_back(void* p, size_t bytes) {
    std::deque<Buffer> to_free;
    {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back({p, bytes});
      idle_bytes_ += bytes;
      trim_locked(&to_free);
    }
    for (const Buffer& b : to_free) std::free(b.p);
  }

  void set_cap(size_t bytes) {
    std::deque<Buffer> to_free;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cap_ = bytes;
      trim_locked(&to_free);
    }
    for (const Buffer& b : to_free) std::free(b.p);
  }

  void release() {
    std::deque<Buffer> to_free;
    {
      std::lock_guard<std::mutex> lock(mu_);
      to_free.swap(idle_);
      idle_bytes_ = 0;
    }
    for (const Buffer& b : to_free) std::free(b.p);
  }

  LargeOutputCacheStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {idle_bytes_, cap_, reused_, allocated_};
  }

 private:
  struct Buffer {
    void* p;
    size_t bytes;
  };
  // Moves the oldest idle buffers to *to_free (freed outside the lock) until within the cap.
  void trim_locked(std::deque<Buffer>* to_free) {
    while (idle_bytes_ > cap_ && !idle_.empty()) {
      to_free->push_back(idle_.front());
      idle_bytes_ -= idle_.front().bytes;
      idle_.pop_front();
    }
  }
  std::mutex mu_;
  std::deque<Buffer> idle_;  // oldest returned first
  size_t idle_bytes_ = 0;
  size_t cap_ = cap_from_environment();
  int64_t reused_ = 0, allocated_ = 0;
};

// Never destroyed: tensors that outlive static destruction (globals, exit paths) still hand
// their buffers back to it.
LargeOutputCache& cache() {
  static auto* c = new LargeOutputCache();
  return *c;
}

}  // namespace

at::Tensor empty_large_output(at::IntArrayRef sizes, const at::TensorOptions& options) {
  int64_t numel = 1;
  for (int64_t s : sizes) numel *= s;
  const size_t bytes = static_cast<size_t>(numel) * options.dtype().itemsize();
  if (!options.device().is_cpu() || bytes < kLargeOutputBytes) return at::empty(sizes, options);
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = cache().take(rounded);
  return at::from_blob(
      p, sizes, [rounded](void* q) { cache().give_back(q, rounded); }, options);
}

LargeOutputCacheStats large_output_cache_stats() { return cache().stats(); }

void release_large_output_cache() { cache().release(); }

void set_large_output_cache_cap(size_t bytes) { cache().set_cap(bytes); }

}  // namespace statetune::kernels
