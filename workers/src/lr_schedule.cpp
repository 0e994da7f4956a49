#include "statetune/workers/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "statetune/common/error.h"

namespace statetune::workers {

LrSchedule parse_lr_schedule(const std::string& name) {
  if (name == "cosine") return LrSchedule::kCosine;
  if (name == "constant") return LrSchedule::kConstant;
  fail("unknown lr schedule '{}' (expected cosine or constant)", name);
}

double lr_multiplier(const LrScheduleOptions& o, int64_t step, int64_t total_steps) {
  if (o.warmup_steps > 0 && step < o.warmup_steps) return static_cast<double>(step + 1) / (o.warmup_steps + 1);
  if (o.kind == LrSchedule::kConstant) return 1.0;
  const int64_t span = std::max<int64_t>(1, total_steps - o.warmup_steps - 1);
  const double progress = std::min(1.0, static_cast<double>(step - o.warmup_steps) / span);
  return o.final_ratio + (1.0 - o.final_ratio) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace statetune::workers
