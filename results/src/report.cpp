#include "statetune/results/report.h"

#include <cmath>
#include <map>
#include <set>

#include "report_baselines.h"
#include "report_table.h"
#include "statetune/common/error.h"

namespace statetune::results {

using namespace detail;

namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_number(double v) { return std::isnan(v) ? "" : fmt::format("{}", v); }

}  // namespace

std::string format_report(const StudyReader& reader, const ReportOptions& options) {
  const std::vector<RunInfo> runs = reader.runs();
  const StudyHeader header = reader.header();
  std::string out = fmt::format("study: {} ({})\n", header.info.name.empty() ? "(unnamed)" : header.info.name,
                                reader.path());

  std::map<RunStatus, int> by_status;
  for (const auto& run : runs) ++by_status[run.status];
  std::string counts;
  for (RunStatus s : kAllRunStatuses) {
    if (by_status[s] > 0) counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", to_string(s), by_status[s]);
  }
  out += fmt::format("runs: {}{}\n", runs.size(), counts.empty() ? "" : " (" + counts + ")");
  for (const auto& run : runs) {
    if (run.status == RunStatus::kFailed || run.status == RunStatus::kDiverged) {
      out += fmt::format("{} {}: {}\n", to_string(run.status), run.description.hash, run.message);
    }
  }

  out += baselines_text(runs);

  const DoneMetrics done = done_metrics(reader, runs);
  const std::string metric = choose_metric(done.names, options.metric, reader.path());
  if (metric.empty()) return out + "no done runs with eval metrics\n";

  const std::set<std::string> keys_present = axis_keys(runs);
  std::vector<std::string> keys = options.group_by;
  if (keys.empty()) {
    for (const auto& k : keys_present) {
      if (k != "seed") keys.push_back(k);
    }
  }
  for (const auto& k : keys) {
    if (keys_present.count(k) == 0) fail("{}: --group-by {}: no run has this axis", reader.path(), k);
  }

  struct Group {
    std::vector<double> before, after, diff;
  };
  std::map<Row, Group, decltype(&key_less)> groups(&key_less);
  for (const auto& run : runs) {
    auto found = done.by_run.find(run.description.hash);
    if (found == done.by_run.end() || found->second.count(metric) == 0) continue;
    const EvalMetric& m = found->second.at(metric);
    Row key;
    for (const auto& k : keys) {
      auto v = run.description.axes.find(k);
      key.push_back(v != run.description.axes.end() ? v->second : "-");
    }
    Group& g = groups[key];
    g.before.push_back(m.before);
    g.after.push_back(m.after);
    g.diff.push_back(m.after - m.before);  // NaN when either is missing
  }

  out += fmt::format("metric: {} (diff = after - before; mean ± std over the runs of a row)\n", metric);
  std::vector<Row> table;
  Row head = keys;
  for (const char* h : {"n", "before", "after", "diff"}) head.emplace_back(h);
  table.push_back(head);
  for (const auto& [key, g] : groups) {
    Row row = key;
    row.push_back(std::to_string(g.before.size()));
    row.push_back(mean_std(g.before, false));
    row.push_back(mean_std(g.after, false));
    row.push_back(mean_std(g.diff, true));
    table.push_back(row);
  }
  return out + format_table(table);
}

std::string report_csv(const StudyReader& reader) {
  const std::vector<RunInfo> runs = reader.runs();
  const std::set<std::string> keys = axis_keys(runs);
  Row head{"hash", "status"};
  head.insert(head.end(), keys.begin(), keys.end());
  for (const char* h : {"metric", "before", "after", "diff"}) head.emplace_back(h);

  std::string out;
  auto write_row = [&out](const Row& row) {
    for (std::size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + csv_field(row[c]);
    out += "\n";
  };
  write_row(head);
  for (const auto& run : runs) {
    Row prefix{run.description.hash, std::string(to_string(run.status))};
    for (const auto& k : keys) {
      auto v = run.description.axes.find(k);
      prefix.push_back(v != run.description.axes.end() ? v->second : "");
    }
    const auto summary = reader.eval_summary(run.description.hash);
    if (summary.empty()) {  // still one row, so every run's status is in the CSV
      Row row = prefix;
      row.insert(row.end(), 4, "");
      write_row(row);
    }
    for (const auto& m : summary) {
      Row row = prefix;
      row.push_back(m.name);
      row.push_back(csv_number(m.before));
      row.push_back(csv_number(m.after));
      row.push_back(csv_number(m.after - m.before));
      write_row(row);
    }
  }
  return out;
}

}  // namespace statetune::results
