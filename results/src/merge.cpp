#include "statetune/results/merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "layout_io.h"
#include "statetune/common/error.h"
#include "statetune/results/study_reader.h"
#include "study_builder.h"

namespace statetune::results {

using namespace detail;

namespace {

struct Input {
  std::string path;
  StudyReader reader;
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
  auto steps_a = a.reader.metrics(hash);
  auto steps_b = b.reader.metrics(hash);
  for (auto* steps : {&steps_a, &steps_b}) {
    for (auto& s : *steps) s.tokens_per_s = kMissing;
  }
  if (!same_steps(steps_a, steps_b)) return "metrics";
  if (!same_eval(a.reader.eval_summary(hash), b.reader.eval_summary(hash))) return "eval";
  if (!same_items(a.reader.items(hash), b.reader.items(hash))) return "items";
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
    StudyReader reader = StudyReader::open(path);
    StudyHeader header = reader.header();
    opened.push_back({path, std::move(reader), std::move(header)});
    check_same_study(opened.front(), opened.back());
  }

  MergeSummary summary;
  std::map<std::string, Chosen> chosen;
  for (std::size_t i = 0; i < opened.size(); ++i) {
    const Input& input = opened[i];
    for (const auto& [hash, status] : input.reader.statuses()) {
      auto it = chosen.find(hash);
      if (it == chosen.end()) {
        chosen[hash] = {i, status};
        continue;
      }
      const Input& kept = opened[it->second.input];
      const std::string where = fmt::format("merge of {} and {}", kept.path, input.path);
      const std::string kept_text = kept.reader.run(hash).description.canonical_text;
      const std::string text = input.reader.run(hash).description.canonical_text;
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

  std::string created = opened.front().header.created;
  for (const auto& input : opened) created = std::min(created, input.header.created);
  StudyBuilder out(output, {opened.front().header.info, created, merged_attributes(opened), {}});
  // Whole runs, one at a time (the output's memory stays one run's): attributes, axes,
  // config and every table, the tuned state included.
  for (const auto& [hash, from] : chosen) {
    const StudyReader& reader = opened[from.input].reader;
    CompleteRun run;
    run.info = reader.run(hash);
    run.info.status = from.status;  // the journal's word (a run file may be one commit ahead)
    run.steps = reader.metrics(hash);
    run.summary = reader.eval_summary(hash);
    run.items = reader.items(hash);
    run.state = reader.tuned_state(hash);
    out.add(run);
  }
  out.finish();
  summary.runs = chosen.size();
  return summary;
}

}  // namespace statetune::results
