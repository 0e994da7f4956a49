#include "study/sweep_plan.h"

#include <regex>

#include "statetune/common/error.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/sweeps/run_schema.h"

namespace statetune::orchestrator {

StudyPlan plan_study(const sweeps::Sweep& sweep, const std::map<std::string, results::RunStatus>& existing,
                     const SweepFlags& flags) {
  StudyPlan plan;
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    if (static_cast<int>(i % static_cast<std::size_t>(flags.shards)) != flags.shard) {
      ++plan.other_shards;
      continue;
    }
    const auto it = existing.find(sweep.runs[i].hash);
    const results::RunStatus status = it == existing.end() ? results::RunStatus::kPending : it->second;
    if (status == results::RunStatus::kDone) {
      ++plan.already_done;
    } else if ((status == results::RunStatus::kFailed || status == results::RunStatus::kDiverged) &&
               !flags.retry_failed) {
      ++plan.skipped_failed;
    } else {
      plan.to_run.push_back(i);
    }
  }
  return plan;
}

results::RunDescription describe_run(const sweeps::SweepRun& run) {
  results::RunDescription d;
  d.hash = run.hash;
  d.config_yaml = sweeps::run_yaml(run.spec);
  d.canonical_text = sweeps::run_canonical_text(run.spec);
  d.method = std::string(sweeps::to_string(run.spec.method));
  for (const auto& [key, value] : run.axes) d.axes[key] = value;
  for (const auto& [key, entry] : sweeps::values_from_run_spec(run.spec).entries)
    d.config[key] = sweeps::format_value(entry.value);
  return d;
}

std::pair<int, int> parse_shard(const std::string& text) {
  std::smatch m;
  static const std::regex form(R"(^(\d+)/(\d+)$)");
  ST_CHECK(std::regex_match(text, m, form), "--shard {}: expected I/K with 0 <= I < K, e.g. 0/4", text);
  const int i = std::stoi(m[1]), k = std::stoi(m[2]);
  ST_CHECK(k >= 1 && i < k, "--shard {}: expected I/K with 0 <= I < K, e.g. 0/4", text);
  return {i, k};
}

}  // namespace statetune::orchestrator
