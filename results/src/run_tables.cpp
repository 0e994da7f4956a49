#include "run_tables.h"

#include <algorithm>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "h5_io.h"
#include "layout_names.h"
#include "statetune/common/error.h"

namespace statetune::results::detail {

namespace {

// The metric curves: one extendible dataset per StepRecord field.
constexpr const char* kStep = "step";
struct DoubleColumn {
  const char* name;
  double StepRecord::*field;
};
constexpr DoubleColumn kDoubleColumns[] = {{"loss", &StepRecord::loss},
                                           {"lr", &StepRecord::lr},
                                           {"grad_norm", &StepRecord::grad_norm},
                                           {"l_decor", &StepRecord::l_decor},
                                           {"tokens_per_s", &StepRecord::tokens_per_s}};

// State tensors above this size are stored compressed; below it, a chunk index and the
// filter header cost about as much as they save.
constexpr std::size_t kCompressAboveBytes = 4096;
constexpr int kDeflateLevel = 4;
constexpr std::size_t kMaxRank = 32;  // H5S_MAX_RANK

void replace_group_of(const std::string& path, hid_t run, const char* name) {
  if (link_exists(path, run, name)) delete_link(path, run, name);
}

}  // namespace

void append_metrics(const std::string& path, hid_t run, const StepRecord& step) {
  if (!link_exists(path, run, names::kMetricsGroup)) {
    Handle metrics = create_group(path, run, names::kMetricsGroup);
    create_extendible(path, metrics.get(), kStep, H5T_STD_I64LE);
    for (const auto& column : kDoubleColumns) create_extendible(path, metrics.get(), column.name, H5T_IEEE_F64LE);
  }
  Handle metrics = open_group(path, run, names::kMetricsGroup);
  append_value(path, metrics.get(), kStep, H5T_NATIVE_INT64, &step.step);
  for (const auto& column : kDoubleColumns) {
    append_value(path, metrics.get(), column.name, H5T_NATIVE_DOUBLE, &(step.*column.field));
  }
}

std::vector<StepRecord> read_metrics(const std::string& path, hid_t run) {
  std::vector<StepRecord> steps;
  if (!link_exists(path, run, names::kMetricsGroup)) return steps;
  Handle metrics = open_group(path, run, names::kMetricsGroup);
  const auto step_values = read_int64s(path, metrics.get(), kStep);
  steps.resize(step_values.size());
  for (std::size_t i = 0; i < steps.size(); ++i) steps[i].step = step_values[i];
  for (const auto& column : kDoubleColumns) {
    const auto values = read_doubles(path, metrics.get(), column.name);
    if (values.size() != steps.size()) {
      fail("{}: metrics/{} has {} rows, metrics/step has {}", path, column.name, values.size(), steps.size());
    }
    for (std::size_t i = 0; i < steps.size(); ++i) steps[i].*column.field = values[i];
  }
  return steps;
}

void write_eval(const std::string& path, hid_t run, const std::vector<EvalMetric>& summary) {
  replace_group_of(path, run, names::kEvalGroup);
  Handle eval = create_group(path, run, names::kEvalGroup);
  std::vector<std::string> metric_names;
  std::vector<double> before, after;
  for (const auto& m : summary) {
    metric_names.push_back(m.name);
    before.push_back(m.before);
    after.push_back(m.after);
  }
  write_strings(path, eval.get(), "name", metric_names);
  write_doubles(path, eval.get(), "before", before);
  write_doubles(path, eval.get(), "after", after);
}

std::vector<EvalMetric> read_eval(const std::string& path, hid_t run) {
  std::vector<EvalMetric> summary;
  if (!link_exists(path, run, names::kEvalGroup)) return summary;
  Handle eval = open_group(path, run, names::kEvalGroup);
  const auto metric_names = read_strings(path, eval.get(), "name");
  const auto before = read_doubles(path, eval.get(), "before");
  const auto after = read_doubles(path, eval.get(), "after");
  if (before.size() != metric_names.size() || after.size() != metric_names.size()) {
    fail("{}: eval/ columns have different lengths", path);
  }
  for (std::size_t i = 0; i < metric_names.size(); ++i) summary.push_back({metric_names[i], before[i], after[i]});
  return summary;
}

void write_items(const std::string& path, hid_t run, const std::vector<EvalItem>& items) {
  replace_group_of(path, run, names::kItemsGroup);
  Handle group = create_group(path, run, names::kItemsGroup);
  std::vector<std::string> phase, id, prediction, gold;
  std::vector<std::int8_t> correct;
  std::size_t width = 0;
  for (const auto& item : items) {
    phase.push_back(item.phase);
    id.push_back(item.id);
    prediction.push_back(item.prediction);
    gold.push_back(item.gold);
    correct.push_back(item.correct ? 1 : 0);
    width = std::max(width, item.choice_loglik.size());
  }
  // Padded rather than variable-length: a plain float64 matrix is what numpy and pandas
  // read without special cases; NaN marks choices an item does not have.
  std::vector<double> loglik(items.size() * width, kMissing);
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::copy(items[i].choice_loglik.begin(), items[i].choice_loglik.end(), loglik.begin() + i * width);
  }
  write_strings(path, group.get(), "phase", phase);
  write_strings(path, group.get(), "id", id);
  write_strings(path, group.get(), "prediction", prediction);
  write_strings(path, group.get(), "gold", gold);
  write_int8s(path, group.get(), "correct", correct);
  write_doubles_2d(path, group.get(), "loglik", items.size(), width, loglik);
}

std::vector<EvalItem> read_items(const std::string& path, hid_t run) {
  std::vector<EvalItem> items;
  if (!link_exists(path, run, names::kItemsGroup)) return items;
  Handle group = open_group(path, run, names::kItemsGroup);
  const auto phase = read_strings(path, group.get(), "phase");
  const auto id = read_strings(path, group.get(), "id");
  const auto prediction = read_strings(path, group.get(), "prediction");
  const auto gold = read_strings(path, group.get(), "gold");
  const auto correct = read_int8s(path, group.get(), "correct");
  std::size_t rows = 0, width = 0;
  const auto loglik = read_doubles_2d(path, group.get(), "loglik", rows, width);
  const std::size_t n = phase.size();
  if (id.size() != n || prediction.size() != n || gold.size() != n || correct.size() != n || rows != n) {
    fail("{}: items/ columns have different lengths", path);
  }
  items.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i].phase = phase[i];
    items[i].id = id[i];
    items[i].prediction = prediction[i];
    items[i].gold = gold[i];
    items[i].correct = correct[i] != 0;
    for (std::size_t c = 0; c < width; ++c) {
      const double v = loglik[i * width + c];
      if (v != v) break;  // NaN: padding after the item's last choice
      items[i].choice_loglik.push_back(v);
    }
  }
  return items;
}

void check_tuned_state(const std::string& path, const std::string& hash, const std::vector<StateTensor>& tensors) {
  std::set<std::string> seen;
  for (const auto& t : tensors) {
    const auto bad = [&](const std::string& why) {
      fail("{}: finish_run: run {}: tuned state tensor '{}': {}", path, hash, t.name, why);
    };
    if (t.name.empty() || t.name == "." || t.name == "..") bad("expected a name such as blocks.0.att.time_state");
    if (t.name.find('/') != std::string::npos) {
      bad("a name must not contain '/' (HDF5 reads it as a path; use dots, e.g. blocks.0.att.time_state)");
    }
    if (!seen.insert(t.name).second) bad("given twice");
    if (t.shape.size() > kMaxRank) bad(fmt::format("{} dimensions, at most {} are stored", t.shape.size(), kMaxRank));
    std::size_t count = 1;
    bool overflow = false;
    for (const std::int64_t d : t.shape) {
      if (d < 0) bad(fmt::format("negative dimension {} in shape [{}]", d, fmt::join(t.shape, ", ")));
      const auto u = static_cast<std::size_t>(d);
      if (u != 0 && count > std::numeric_limits<std::size_t>::max() / u) overflow = true;
      count *= u;
    }
    if (overflow || count != t.values.size()) {
      bad(fmt::format("{} values for shape [{}] (expected their product, row-major)", t.values.size(),
                      fmt::join(t.shape, ", ")));
    }
  }
}

void write_state(const std::string& path, hid_t run, const std::vector<StateTensor>& tensors) {
  replace_group_of(path, run, names::kStateGroup);
  if (tensors.empty()) return;
  Handle state = create_group(path, run, names::kStateGroup);
  for (const auto& t : tensors) {
    const std::vector<hsize_t> dims(t.shape.begin(), t.shape.end());
    const bool compress = t.values.size() * sizeof(float) > kCompressAboveBytes;
    write_floats_nd(path, state.get(), t.name, dims, t.values, compress ? kDeflateLevel : -1);
  }
}

std::vector<StateTensor> read_state(const std::string& path, hid_t run, const std::string& hash) {
  std::vector<StateTensor> tensors;
  if (!link_exists(path, run, names::kStateGroup)) return tensors;
  Handle state = open_group(path, run, names::kStateGroup);
  for (const auto& name : child_names(path, state.get())) {
    StateTensor t;
    t.name = name;
    std::vector<hsize_t> dims;
    t.values = read_floats_nd(path, state.get(), name, dims, "/runs/" + hash + "/state/" + name);
    t.shape.assign(dims.begin(), dims.end());
    tensors.push_back(std::move(t));
  }
  return tensors;
}

void clear_tables(const std::string& path, hid_t run) {
  replace_group_of(path, run, names::kMetricsGroup);
  replace_group_of(path, run, names::kEvalGroup);
  replace_group_of(path, run, names::kItemsGroup);
  replace_group_of(path, run, names::kStateGroup);
}

}  // namespace statetune::results::detail
