// The report's "best configuration per benchmark" (report.h): per benchmark and eval metric,
// the configuration whose done runs have the best mean score after tuning.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "report_table.h"
#include "statetune/results/report.h"

namespace statetune::results {

using namespace detail;

namespace {

// Seeds are what a configuration is averaged over, not part of it.
constexpr const char* kSeedAxis = "seed";
constexpr const char* kBenchmarkKey = "data.benchmark";

// Losses, NLL and perplexity improve downwards; every other metric (acc, exact match) upwards.
bool lower_is_better(const std::string& metric) {
  for (const char* word : {"loss", "nll", "perplexity", "ppl"}) {
    if (metric.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string benchmark_of(const RunInfo& run) {
  for (const auto* values : {&run.description.config, &run.description.axes}) {
    const auto it = values->find(kBenchmarkKey);
    if (it != values->end()) return it->second;
  }
  return "-";
}

// "M=64 method=kernel": the run's axes except seed.
std::string configuration_of(const RunInfo& run) {
  std::string out;
  for (const auto& [key, value] : run.description.axes) {
    if (key != kSeedAxis) out += fmt::format("{}{}={}", out.empty() ? "" : " ", key, value);
  }
  return out.empty() ? "(the base config)" : out;
}

}  // namespace

std::string format_best_configurations(const StudyReader& reader) {
  const std::vector<RunInfo> runs = reader.runs();
  const DoneMetrics done = done_metrics(reader, runs);
  if (done.names.empty()) return "";

  // (benchmark, metric) -> configuration -> the after values of its runs. Configurations in
  // the map's order, so ties go to the first in sort order.
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::vector<double>>> scores;
  for (const auto& run : runs) {
    const auto found = done.by_run.find(run.description.hash);
    if (found == done.by_run.end()) continue;
    for (const auto& [name, metric] : found->second) {
      if (name.find('/') != std::string::npos) continue;  // a breakdown (mmlu/acc/<subject>)
      scores[{benchmark_of(run), name}][configuration_of(run)].push_back(metric.after);
    }
  }

  std::vector<Row> table{{"benchmark", "metric", "best after", "n", "configuration"}};
  for (const auto& [where, configurations] : scores) {
    const bool lower = lower_is_better(where.second);
    const std::string* best = nullptr;
    MeanStd best_score{kMissing, kMissing, 0};
    for (const auto& [configuration, afters] : configurations) {
      const MeanStd s = mean_std_of(afters);
      if (s.n == 0) continue;
      if (best == nullptr || (lower ? s.mean < best_score.mean : s.mean > best_score.mean)) {
        best = &configuration;
        best_score = s;
      }
    }
    if (best == nullptr) continue;
    table.push_back({where.first, where.second, mean_std(configurations.at(*best), false),
                     std::to_string(best_score.n), *best});
  }
  return "best configuration per benchmark (mean ± std of after over seeds; highest, lowest for losses):\n" +
         format_table(table);
}

}  // namespace statetune::results
