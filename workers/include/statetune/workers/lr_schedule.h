#pragma once
// Learning-rate schedules: linear warmup, then constant or cosine decay to lr·final_ratio.
#include <cstdint>
#include <string>

namespace statetune::workers {

enum class LrSchedule { kConstant, kCosine };

struct LrScheduleOptions {
  LrSchedule kind = LrSchedule::kCosine;
  int64_t warmup_steps = 0;
  double final_ratio = 0.01;  // cosine ends at lr · final_ratio (METHOD.md §1: 1.0 -> 1e-2)
};

LrSchedule parse_lr_schedule(const std::string& name);  // "cosine" | "constant"

// The multiplier of the base lr at 0-based `step` of `total_steps`.
double lr_multiplier(const LrScheduleOptions& options, int64_t step, int64_t total_steps);

}  // namespace statetune::workers
