#pragma once
// What the report's tables share (report.cpp, report_pivot.cpp, report_best.cpp): sorting
// axis values, mean ± std, aligned text tables, and the eval metrics of the done runs.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "statetune/results/study_reader.h"

namespace statetune::results::detail {

using Row = std::vector<std::string>;

// Axis values sort as numbers when both are numbers (lr 0.003 before 0.01), else as text.
bool value_less(const std::string& a, const std::string& b);
bool key_less(const Row& a, const Row& b);
using KeyLess = bool (*)(const Row&, const Row&);

// The values that are not NaN.
std::vector<double> present(const std::vector<double>& values);
// Mean and sample std of present values (std 0 for one value); NaN mean for none.
struct MeanStd {
  double mean;
  double std;
  std::size_t n;
};
MeanStd mean_std_of(const std::vector<double>& values);
// "0.2500 ± 0.0707" over the present values; the value alone for one; "-" for none.
std::string mean_std(const std::vector<double>& values, bool sign);

// Left-aligned columns two spaces apart ('±' counts as one column).
std::string format_table(const std::vector<Row>& rows);

// The eval metrics of every done run: hash -> metric name -> (before, after).
struct DoneMetrics {
  std::map<std::string, std::map<std::string, EvalMetric>> by_run;
  std::set<std::string> names;  // every metric name found
};
DoneMetrics done_metrics(const StudyReader& reader, const std::vector<RunInfo>& runs);

// "acc, acc_norm", or "none".
std::string list_or_none(const std::set<std::string>& names);

// The metric to show: `wanted` (an error naming `path` when no done run has it), else "acc"
// when present, else the first name; "" when there is none.
std::string choose_metric(const std::set<std::string>& available, const std::string& wanted, const std::string& path);

// Every axis key of any run.
std::set<std::string> axis_keys(const std::vector<RunInfo>& runs);

}  // namespace statetune::results::detail
