// `statetune report --pivot ROWS --cols COLS --value VALUE`: one value of the done runs as a
// rows x columns table, each cell the mean over the runs in it (report.h).
#include <map>
#include <utility>

#include <fmt/format.h>

#include "report_table.h"
#include "statetune/common/error.h"
#include "statetune/results/report.h"

namespace statetune::results {

using namespace detail;

namespace {

enum class Part { kGain, kAfter, kBefore };

struct PivotValue {
  std::string metric;
  Part part = Part::kGain;

  double of(const EvalMetric& m) const {
    switch (part) {
      case Part::kAfter: return m.after;
      case Part::kBefore: return m.before;
      case Part::kGain: break;
    }
    return m.after - m.before;  // NaN when either is missing
  }
  std::string title() const {
    switch (part) {
      case Part::kAfter: return metric + " after tuning";
      case Part::kBefore: return metric + " before tuning";
      case Part::kGain: break;
    }
    return metric + " gain (after - before)";
  }
  std::string format(double mean) const {
    return part == Part::kGain ? fmt::format("{:+.4f}", mean) : fmt::format("{:.4f}", mean);
  }
};

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() > suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "acc" or "acc.diff": the gain; "acc.after", "acc.before": the raw values.
PivotValue parse_value(const std::string& text, const std::set<std::string>& available, const std::string& path) {
  if (text.empty()) {
    const std::string metric = choose_metric(available, "", path);
    if (metric.empty()) fail("{}: --pivot: no done run has eval metrics", path);
    return {metric, Part::kGain};
  }
  if (available.count(text) != 0) return {text, Part::kGain};
  const std::pair<const char*, Part> suffixes[] = {{".diff", Part::kGain}, {".after", Part::kAfter}, {".before", Part::kBefore}};
  for (const auto& [suffix, part] : suffixes) {
    if (!ends_with(text, suffix)) continue;
    const std::string metric = text.substr(0, text.size() - std::string(suffix).size());
    if (available.count(metric) != 0) return {metric, part};
  }
  fail("{}: --value {}: no done run has this eval metric (available: {}; add .after or .before for the raw values)",
       path, text, list_or_none(available));
}

// A row or column key: its values come from the runs' axes, or from their config when it is
// no run's axis (data.benchmark of a study that runs one benchmark, say).
struct PivotKey {
  std::string key;
  bool axis = true;

  std::string value_of(const RunInfo& run) const {
    const auto& values = axis ? run.description.axes : run.description.config;
    const auto it = values.find(key);
    return it == values.end() ? "-" : it->second;  // "-": the axis does not apply to the run
  }
};

std::vector<PivotKey> pivot_keys(const std::vector<std::string>& keys, const std::vector<RunInfo>& runs,
                                 const std::string& option, const std::string& path) {
  const std::set<std::string> axes = axis_keys(runs);
  std::vector<PivotKey> out;
  for (const auto& key : keys) {
    if (axes.count(key) != 0) {
      out.push_back({key, true});
      continue;
    }
    bool in_config = false;
    for (const auto& run : runs) in_config = in_config || run.description.config.count(key) != 0;
    if (!in_config) fail("{}: {} {}: no run has this axis or config key (axes: {})", path, option, key, list_or_none(axes));
    out.push_back({key, false});
  }
  return out;
}

Row labels_of(const std::vector<PivotKey>& keys, const RunInfo& run) {
  Row row;
  for (const auto& k : keys) row.push_back(k.value_of(run));
  return row;
}

std::string joined(const Row& values, const char* separator) { return fmt::format("{}", fmt::join(values, separator)); }

// "score": each done run's headline metric, added beside its real ones.
void add_scores(DoneMetrics& done) {
  for (auto& [hash, metrics] : done.by_run) {
    for (const char* name : kScoreMetrics) {
      const auto found = metrics.find(name);
      if (found == metrics.end()) continue;
      EvalMetric score = found->second;
      score.name = "score";
      metrics.emplace("score", score);
      done.names.insert("score");
      break;
    }
  }
}

// Keys in the order first seen (as_planned) or sorted.
class KeyOrder {
 public:
  explicit KeyOrder(bool as_planned) : as_planned_(as_planned) {}
  void add(const Row& key) {
    if (seen_.insert(key).second) order_.push_back(key);
  }
  std::vector<Row> keys() const {
    if (as_planned_) return order_;
    return std::vector<Row>(seen_.begin(), seen_.end());
  }

 private:
  bool as_planned_;
  std::set<Row, KeyLess> seen_{&key_less};
  std::vector<Row> order_;
};

}  // namespace

std::string format_pivot(const StudyReader& reader, const PivotOptions& options) {
  if (options.rows.empty()) fail("{}: --pivot needs at least one row key", reader.path());
  const std::vector<RunInfo> runs = reader.runs();
  DoneMetrics done = done_metrics(reader, runs);
  const bool wants_score = options.value == "score" || options.value.rfind("score.", 0) == 0;
  if (wants_score && done.names.count("score") == 0) add_scores(done);
  const PivotValue value = parse_value(options.value, done.names, reader.path());
  if (options.with_before && value.part == Part::kGain) {
    fail("{}: --with-before: the untuned row needs raw values: --value {}.after (or .before)", reader.path(),
         value.metric);
  }
  const std::vector<PivotKey> row_keys = pivot_keys(options.rows, runs, "--pivot", reader.path());
  const std::vector<PivotKey> col_keys = pivot_keys(options.cols, runs, "--cols", reader.path());

  KeyOrder rows(options.as_planned), cols(options.as_planned);
  std::map<std::pair<Row, Row>, std::vector<double>> cells;
  std::map<Row, std::vector<double>, KeyLess> before_by_col(&key_less);
  for (const auto& run : runs) {
    const auto found = done.by_run.find(run.description.hash);
    if (found == done.by_run.end()) continue;
    const auto metric = found->second.find(value.metric);
    if (metric == found->second.end()) continue;
    Row r = labels_of(row_keys, run), c = labels_of(col_keys, run);
    rows.add(r);
    cols.add(c);
    cells[{r, c}].push_back(value.of(metric->second));
    before_by_col[c].push_back(metric->second.before);
  }

  Row head;
  for (const auto& k : row_keys) head.push_back(k.key);
  if (col_keys.empty()) {
    head.push_back(value.metric);
  } else {
    Row names;
    for (const auto& k : col_keys) names.push_back(k.key);
    head.back() += " \\ " + joined(names, ",");
    for (const auto& c : cols.keys()) head.push_back(joined(c, ","));
  }
  std::vector<Row> table{head};
  if (options.with_before) {
    Row line(row_keys.size(), "");
    line.front() = "(before tuning)";
    for (const auto& c : cols.keys()) {
      const MeanStd s = mean_std_of(before_by_col[c]);
      line.push_back(s.n == 0 ? "-" : value.format(s.mean));
    }
    table.push_back(std::move(line));
  }
  for (const auto& r : rows.keys()) {
    Row line = r;
    for (const auto& c : cols.keys()) {
      const auto cell = cells.find({r, c});
      const MeanStd s = cell == cells.end() ? MeanStd{kMissing, kMissing, 0} : mean_std_of(cell->second);
      line.push_back(s.n == 0 ? "-" : value.format(s.mean));
    }
    table.push_back(std::move(line));
  }
  const std::string title =
      value.metric == "score" ? value.title() + " (score: acc, or exact_match_strict for GSM8K)" : value.title();
  return fmt::format("pivot: {}, mean over the done runs of each cell ('-': none)\n", title) +
         format_table(table);
}

}  // namespace statetune::results
