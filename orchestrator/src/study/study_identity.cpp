#include "statetune/orchestrator/study_identity.h"

#include <filesystem>

#ifndef STATETUNE_GIT_COMMIT
#define STATETUNE_GIT_COMMIT "unknown"
#endif

namespace statetune::orchestrator {

results::StudyInfo study_identity(const std::string& sweep_path, const sweeps::Sweep& sweep,
                                  const std::vector<std::string>& overrides) {
  results::StudyInfo info;
  info.name = std::filesystem::path(sweep_path).stem().string();
  info.sweep_yaml = sweep.text;
  if (!overrides.empty()) {
    info.sweep_yaml += "\n# command-line overrides:";
    for (const auto& ov : overrides) info.sweep_yaml += " " + ov;
    info.sweep_yaml += "\n";
  }
  info.statetune_version = statetune_version();
  return info;
}

std::string statetune_version() { return std::string("0.1.0 (git ") + STATETUNE_GIT_COMMIT + ")"; }

}  // namespace statetune::orchestrator
