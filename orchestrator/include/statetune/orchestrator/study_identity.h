#pragma once
// What names a study in its results file: the sweep file's stem, and the sweep text with the
// command-line overrides appended (so resuming with other overrides is refused as another
// study), and the writer's version with its git commit. `sweep` creates and resumes files
// with it; `submit` creates them before the jobs run, so both must agree exactly.
#include <string>
#include <vector>

#include "statetune/results/records.h"
#include "statetune/sweeps/sweep.h"

namespace statetune::orchestrator {

results::StudyInfo study_identity(const std::string& sweep_path, const sweeps::Sweep& sweep,
                                  const std::vector<std::string>& overrides);

// "0.1.0 (git abc123def456)"
std::string statetune_version();

}  // namespace statetune::orchestrator
