#include "statetune/results/report.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>

#include "statetune/common/error.h"

namespace statetune::results {

namespace {

using Row = std::vector<std::string>;

// One run's value of the chosen metric.
struct Measured {
  double before = kMissing;
  double after = kMissing;
};

bool is_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Axis values sort as numbers when both are numbers (lr 0.003 before 0.01), else as text.
bool value_less(const std::string& a, const std::string& b) {
  double x = 0, y = 0;
  if (is_number(a, x) && is_number(b, y) && x != y) return x < y;
  return a < b;
}

bool key_less(const Row& a, const Row& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), value_less);
}

// "0.2500 ± 0.0707" over the present values; the value alone for one; "-" for none.
std::string mean_std(const std::vector<double>& all, bool sign) {
  std::vector<double> v;
  for (double x : all) {
    if (!std::isnan(x)) v.push_back(x);
  }
  if (v.empty()) return "-";
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  const std::string m = sign ? fmt::format("{:+.4f}", mean) : fmt::format("{:.4f}", mean);
  if (v.size() == 1) return m;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return fmt::format("{} ± {:.4f}", m, std::sqrt(ss / static_cast<double>(v.size() - 1)));
}

// Display width: '±' is two bytes in UTF-8 but one column.
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string format_table(const std::vector<Row>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], columns(row[c]));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(width[c] - columns(row[c]) + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string choose_metric(const std::set<std::string>& available, const std::string& wanted, const std::string& path) {
  if (!wanted.empty()) {
    if (available.count(wanted) == 0) {
      std::string list;
      for (const auto& m : available) list += (list.empty() ? "" : ", ") + m;
      fail("{}: no done run has eval metric '{}' (available: {})", path, wanted, list.empty() ? "none" : list);
    }
    return wanted;
  }
  if (available.count("acc") != 0) return "acc";
  return available.empty() ? "" : *available.begin();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string csv_number(double v) { return std::isnan(v) ? "" : fmt::format("{}", v); }

std::set<std::string> axis_keys(const std::vector<RunInfo>& runs) {
  std::set<std::string> keys;
  for (const auto& run : runs) {
    for (const auto& [key, value] : run.description.axes) keys.insert(key);
  }
  return keys;
}

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

  // The metric of every done run.
  std::map<std::string, std::map<std::string, Measured>> metric_of_run;  // hash -> name -> values
  std::set<std::string> available;
  for (const auto& run : runs) {
    if (run.status != RunStatus::kDone) continue;
    for (const auto& m : reader.eval_summary(run.description.hash)) {
      metric_of_run[run.description.hash][m.name] = {m.before, m.after};
      available.insert(m.name);
    }
  }
  const std::string metric = choose_metric(available, options.metric, reader.path());
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
    auto found = metric_of_run.find(run.description.hash);
    if (found == metric_of_run.end() || found->second.count(metric) == 0) continue;
    const Measured m = found->second.at(metric);
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
