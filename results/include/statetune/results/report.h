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

}  // namespace statetune::results
