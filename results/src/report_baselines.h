#pragma once
// The report's line on shared baselines: how many "before" evaluations the done runs used and
// which runs shared each (RunInfo::baseline; the runs of a study that start from the same
// state on the same model and eval data share one, computed once).
#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::results::detail {

// "" when no done run names a baseline (format 1 files, runs without an eval split).
std::string baselines_text(const std::vector<RunInfo>& runs);

}  // namespace statetune::results::detail
