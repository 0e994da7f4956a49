#include "report_table.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "statetune/common/error.h"

namespace statetune::results::detail {
namespace {

bool is_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

// Display width: '±' is two bytes in UTF-8 but one column.
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

bool value_less(const std::string& a, const std::string& b) {
  double x = 0, y = 0;
  if (is_number(a, x) && is_number(b, y) && x != y) return x < y;
  return a < b;
}

bool key_less(const Row& a, const Row& b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), value_less);
}

std::vector<double> present(const std::vector<double>& values) {
  std::vector<double> out;
  for (double x : values) {
    if (!std::isnan(x)) out.push_back(x);
  }
  return out;
}

MeanStd mean_std_of(const std::vector<double>& values) {
  const std::vector<double> v = present(values);
  if (v.empty()) return {kMissing, kMissing, 0};
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  const double std = v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0;
  return {mean, std, v.size()};
}

std::string mean_std(const std::vector<double>& values, bool sign) {
  const MeanStd s = mean_std_of(values);
  if (s.n == 0) return "-";
  const std::string m = sign ? fmt::format("{:+.4f}", s.mean) : fmt::format("{:.4f}", s.mean);
  if (s.n == 1) return m;
  return fmt::format("{} ± {:.4f}", m, s.std);
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

DoneMetrics done_metrics(const StudyReader& reader, const std::vector<RunInfo>& runs) {
  DoneMetrics out;
  for (const auto& run : runs) {
    if (run.status != RunStatus::kDone) continue;
    for (const auto& m : reader.eval_summary(run.description.hash)) {
      out.by_run[run.description.hash][m.name] = m;
      out.names.insert(m.name);
    }
  }
  return out;
}

std::string list_or_none(const std::set<std::string>& names) {
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

std::string choose_metric(const std::set<std::string>& available, const std::string& wanted, const std::string& path) {
  if (!wanted.empty()) {
    if (available.count(wanted) == 0) {
      fail("{}: no done run has eval metric '{}' (available: {})", path, wanted, list_or_none(available));
    }
    return wanted;
  }
  if (available.count("acc") != 0) return "acc";
  return available.empty() ? "" : *available.begin();
}

std::set<std::string> axis_keys(const std::vector<RunInfo>& runs) {
  std::set<std::string> keys;
  for (const auto& run : runs) {
    for (const auto& [key, value] : run.description.axes) keys.insert(key);
  }
  return keys;
}

}  // namespace statetune::results::detail
