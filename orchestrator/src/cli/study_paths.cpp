#include "cli/study_paths.h"

#include <filesystem>
#include <set>

#include "statetune/common/output_path.h"

namespace statetune::orchestrator {

void prepare_study_paths(const sweeps::Sweep& sweep, const std::string& results_path) {
  std::set<std::string> checked;  // the runs of one folder share its answer (one probe, not thousands)
  auto check = [&](const std::string& path, const std::string& what) {
    if (path.empty()) return;  // no checkpoint key: `sweep` puts it beside the results file
    const std::string folder = std::filesystem::path(path).parent_path().string();
    if (checked.insert(folder).second || std::filesystem::is_directory(path)) check_output_path(path, what);
  };
  check_output_path(results_path, "--out");  // first: the default checkpoints are beside it
  for (const auto& run : sweep.runs) {
    check(run.spec.output, "run " + run.hash + ": output");
    check(run.spec.checkpoint, "run " + run.hash + ": checkpoint");
  }
  prepare_output_path(results_path, "--out");
}

}  // namespace statetune::orchestrator
