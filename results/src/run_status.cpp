#include "statetune/results/run_status.h"

#include <array>

#include "statetune/common/error.h"

namespace statetune::results {

namespace {
// Indexed by the enum's value.
constexpr std::array<std::string_view, 6> kNames{"pending", "running", "done", "failed", "diverged", "interrupted"};
}  // namespace

std::string_view to_string(RunStatus status) { return kNames[static_cast<std::size_t>(status)]; }

RunStatus parse_run_status(std::string_view text, const std::string& where) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == text) return static_cast<RunStatus>(i);
  }
  fail("{}: unknown run status '{}' (expected pending|running|done|failed|diverged|interrupted)", where, text);
}

bool is_final(RunStatus status) { return status != RunStatus::kPending && status != RunStatus::kRunning; }

}  // namespace statetune::results
