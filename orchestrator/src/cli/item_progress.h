#pragma once
// "[eval] 12/100 items, 0.40 items/s, ETA 220s" on one stderr line, redrawn at most twice a
// second and ended with a newline at the last item. `extra` adds a figure to the line.
#include <cstddef>
#include <cstdio>
#include <string>

#include "statetune/common/timer.h"

namespace statetune::orchestrator {

class ItemProgress {
 public:
  ItemProgress(std::string label, size_t total) : label_(std::move(label)), total_(total) {}
  void update(size_t done, const std::string& extra = "") {
    if (done < total_ && last_.seconds() < 0.5) return;
    last_.reset();
    const double elapsed = clock_.seconds();
    const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
    std::fprintf(stderr, "\r[%s] %zu/%zu items, %.2f items/s%s, ETA %.0fs   ", label_.c_str(), done, total_, rate,
                 extra.empty() ? "" : (", " + extra).c_str(), eta);
    if (done == total_) std::fputc('\n', stderr);
    std::fflush(stderr);
  }
  double seconds() const { return clock_.seconds(); }

 private:
  std::string label_;
  size_t total_;
  Timer clock_, last_;
};

}  // namespace statetune::orchestrator
