#include "statetune/results/merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "h5_check.h"
#include "h5_io.h"
#include "layout_io.h"
#include "layout_names.h"
#include "run_tables.h"
#include "statetune/common/error.h"
#include "study_file.h"

namespace statetune::results {

using namespace detail;

namespace {

struct Input {
  std::string path;
  Handle file;
  StudyHeader header;
};

// Where a run of the output comes from.
struct Chosen {
  std::size_t input = 0;
  RunStatus status = RunStatus::kPending;
};

// Lower is more final: which copy of a run a merge keeps.
int finality(RunStatus s) {
  switch (s) {
    case RunStatus::kDone: return 0;
    case RunStatus::kFailed: return 1;
    case RunStatus::kDiverged: return 2;
    case RunStatus::kInterrupted: return 3;
    case RunStatus::kRunning: return 4;
    case RunStatus::kPending: return 5;
  }
  return 6;
}

// Bitwise equality of results: NaN equals NaN (a missing value is the same in both).
bool same(double a, double b) { return a == b || (a != a && b != b); }

bool same_steps(const std::vector<StepRecord>& a, const std::vector<StepRecord>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const StepRecord& x, const StepRecord& y) {
    return x.step == y.step && same(x.loss, y.loss) && same(x.lr, y.lr) && same(x.grad_norm, y.grad_norm) &&
           same(x.l_decor, y.l_decor) && same(x.tokens_per_s, y.tokens_per_s);
  });
}

bool same_eval(const std::vector<EvalMetric>& a, const std::vector<EvalMetric>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const EvalMetric& x, const EvalMetric& y) {
    return x.name == y.name && same(x.before, y.before) && same(x.after, y.after);
  });
}

bool same_items(const std::vector<EvalItem>& a, const std::vector<EvalItem>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const EvalItem& x, const EvalItem& y) {
    return x.phase == y.phase && x.id == y.id && x.prediction == y.prediction && x.gold == y.gold &&
           x.correct == y.correct &&
           std::equal(x.choice_loglik.begin(), x.choice_loglik.end(), y.choice_loglik.begin(), y.choice_loglik.end(),
                      same);
  });
}

// Which table of two done copies differs ("" when none). tokens/s is a measurement of the
// machine, not a result, so it is left out of the comparison; so is the tuned state
// (state/): a rerun on other hardware differs in the last bits, and the first copy's is kept.
std::string differing_table(const Input& a, const Input& b, const std::string& hash) {
  Handle runs_a = open_group(a.path, a.file.get(), names::kRunsGroup);
  Handle runs_b = open_group(b.path, b.file.get(), names::kRunsGroup);
  Handle run_a = open_group(a.path, runs_a.get(), hash);
  Handle run_b = open_group(b.path, runs_b.get(), hash);
  auto steps_a = read_metrics(a.path, run_a.get());
  auto steps_b = read_metrics(b.path, run_b.get());
  for (auto* steps : {&steps_a, &steps_b}) {
    for (auto& s : *steps) s.tokens_per_s = kMissing;
  }
  if (!same_steps(steps_a, steps_b)) return "metrics";
  if (!same_eval(read_eval(a.path, run_a.get()), read_eval(b.path, run_b.get()))) return "eval";
  if (!same_items(read_items(a.path, run_a.get()), read_items(b.path, run_b.get()))) return "items";
  return "";
}

void check_same_study(const Input& first, const Input& other) {
  if (other.header.info.name != first.header.info.name) {
    fail("{}: study '{}' is not the study '{}' of {}; merge combines the files of one study", other.path,
         other.header.info.name, first.header.info.name, first.path);
  }
  if (other.header.info.sweep_yaml != first.header.info.sweep_yaml) {
    fail("{}: written by a different sweep than {} (sweep text differs); merge combines the files of one study",
         other.path, first.path);
  }
}

// The union of the inputs' study attributes; different values of one key are kept, one per line.
std::map<std::string, std::string> merged_attributes(const std::vector<Input>& inputs) {
  std::map<std::string, std::vector<std::string>> values;
  for (const auto& input : inputs) {
    for (const auto& [key, value] : input.header.attributes) {
      auto& seen = values[key];
      if (std::find(seen.begin(), seen.end(), value) == seen.end()) seen.push_back(value);
    }
  }
  std::map<std::string, std::string> merged;
  for (const auto& [key, seen] : values) {
    std::string joined;
    for (const auto& v : seen) joined += (joined.empty() ? "" : "\n") + v;
    merged[key] = joined;
  }
  return merged;
}

}  // namespace

MergeSummary merge_studies(const std::vector<std::string>& inputs, const std::string& output) {
  ST_CHECK(!inputs.empty(), "{}: merge needs at least one input file", output);
  std::error_code ec;
  if (std::filesystem::exists(output, ec)) fail("{}: exists; merge writes a new file", output);

  std::vector<Input> opened;
  for (const auto& path : inputs) {
    Handle file = open_read_only(path);
    StudyHeader header = read_header(path, file.get());
    opened.push_back({path, std::move(file), std::move(header)});
    check_same_study(opened.front(), opened.back());
  }

  MergeSummary summary;
  std::map<std::string, Chosen> chosen;
  for (std::size_t i = 0; i < opened.size(); ++i) {
    const Input& input = opened[i];
    Handle runs = open_group(input.path, input.file.get(), names::kRunsGroup);
    for (const auto& hash : child_names(input.path, runs.get())) {
      Handle run = open_group(input.path, runs.get(), hash);
      const RunStatus status = read_run_status(input.path, run.get(), hash);
      auto it = chosen.find(hash);
      if (it == chosen.end()) {
        chosen[hash] = {i, status};
        continue;
      }
      const Input& kept = opened[it->second.input];
      const std::string where = fmt::format("merge of {} and {}", kept.path, input.path);
      Handle kept_runs = open_group(kept.path, kept.file.get(), names::kRunsGroup);
      Handle kept_run = open_group(kept.path, kept_runs.get(), hash);
      const std::string kept_text = read_canonical_text(kept.path, kept_run.get(), hash);
      const std::string text = read_canonical_text(input.path, run.get(), hash);
      if (kept_text != text) fail_conflicting_config(where, hash, kept_text, text);
      ++summary.duplicates;
      if (status == RunStatus::kDone && it->second.status == RunStatus::kDone) {
        const std::string table = differing_table(kept, input, hash);
        if (!table.empty()) {
          fail("{}: conflicting duplicate run {}: both done, with different {}", where, hash, table);
        }
      } else if (finality(status) < finality(it->second.status)) {
        it->second = {i, status};
      }
    }
  }

  MemoryStudyFile out = MemoryStudyFile::create(output);
  write_new_header(output, out.id(), opened.front().header.info);
  std::string created = opened.front().header.created;
  for (const auto& input : opened) created = std::min(created, input.header.created);
  write_attr(output, out.id(), names::kCreated, created);
  Handle study = open_group(output, out.id(), names::kStudyGroup);
  for (const auto& [key, value] : merged_attributes(opened)) write_attr(output, study.get(), key, value);

  Handle out_runs = open_group(output, out.id(), names::kRunsGroup);
  // The whole run group: attributes, axes/, config/ and every table, state/ included
  // (datasets keep their chunking and compression).
  for (const auto& [hash, from] : chosen) {
    const Input& input = opened[from.input];
    Handle runs = open_group(input.path, input.file.get(), names::kRunsGroup);
    H5_CHECK(output, H5Ocopy(runs.get(), hash.c_str(), out_runs.get(), hash.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  }
  summary.runs = chosen.size();
  touch_updated(output, out.id());
  out.commit();
  return summary;
}

}  // namespace statetune::results
