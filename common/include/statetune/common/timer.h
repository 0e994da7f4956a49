#pragma once
// Wall-clock timing and the process's peak resident memory, for benchmarks and progress.
#include <chrono>
#include <cstdint>

namespace statetune {

class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) {}
  void reset() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Peak resident set size of this process so far, in bytes (getrusage ru_maxrss).
std::int64_t peak_rss_bytes();
// Current resident set size in bytes (/proc/self/statm), 0 when unknown.
std::int64_t current_rss_bytes();
// Number of CPU cores this process may run on (sched_getaffinity), at least 1.
int available_cores();

}  // namespace statetune
