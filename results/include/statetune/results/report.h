#pragma once
// `statetune report`: a study file as a table a person reads, and as long-format CSV.
#include <string>
#include <vector>

#include "statetune/results/study_reader.h"

namespace statetune::results {

struct ReportOptions {
  // Axes to group runs by. Empty: every axis except `seed`, so seeds are averaged.
  std::vector<std::string> group_by;
  // The eval metric of the table. Empty: "acc" if present, else the first one found.
  std::string metric;
};

// The text report: runs by status, failed runs with their messages, then one row per
// configuration of done runs: n, the metric before and after tuning and the difference,
// as mean ± std (sample std) over the runs in the group (a single run: the value alone).
std::string format_report(const StudyReader& reader, const ReportOptions& options);

// Long format, one row per (run, metric): hash,status,<every axis>,metric,before,after,diff.
std::string report_csv(const StudyReader& reader);

// Per benchmark (the config key data.benchmark) and eval metric: the configuration (the
// run's axes except seed) with the best mean `after` over its done runs (highest; lowest
// for a loss, nll or perplexity), with mean ± std and the number of runs. Breakdowns whose
// name holds a '/' (mmlu/acc/<subject>) are left out.
std::string format_best_configurations(const StudyReader& reader);

// `report --pivot ROWS --cols COLS --value VALUE`: a table of one value of the done runs,
// rows and columns labelled by the values of axes (or, for keys that are no run's axis,
// config keys such as data.benchmark); each cell is the mean over the runs that fall in it
// (the other axes and seeds), '-' where none does.
struct PivotOptions {
  std::vector<std::string> rows;  // at least one key
  std::vector<std::string> cols;  // empty: a single column
  // "acc" (or "acc.diff"): after - before; "acc.after", "acc.before". Empty: the gain of
  // the report's default metric (acc if present, else the first). "score" is each run's
  // headline metric (kScoreMetrics): one row across multiple-choice benchmarks and GSM8K.
  std::string value;
  // A first row with each column's mean "before" over its done runs: the untuned model.
  bool with_before = false;
  // Rows and columns in the order the study lists them (the sweep's order), not sorted.
  bool as_planned = false;
};
// What "score" means, first found wins: acc (multiple choice), exact_match_strict (GSM8K).
inline constexpr const char* kScoreMetrics[] = {"acc", "exact_match_strict"};
std::string format_pivot(const StudyReader& reader, const PivotOptions& options);

}  // namespace statetune::results
