// Expanding a sweep definition into runs: the product of the axis groups, minus excluded
// runs, minus runs whose canonical hash an earlier run already has (see sweep.h).
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "statetune/common/error.h"
#include "statetune/sweeps/config_reader.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/sweeps/run_schema.h"
#include "statetune/sweeps/sweep.h"
#include "sweep_definition.h"

namespace statetune::sweeps {
namespace {

// Beyond this a sweep is surely a mistake, and its runs would not fit in memory anyway.
constexpr std::size_t kMaxCombinations = 10'000'000;

std::size_t count_combinations(const SweepDefinition& sweep) {
  std::size_t count = 1;
  for (const auto& group : sweep.groups) {
    if (count > kMaxCombinations / group.rows.size()) {
      fail("{}: the grid expands to more than {} runs", sweep.path, kMaxCombinations);
    }
    count *= group.rows.size();
  }
  return count;
}

// The base values with position `index[g]` of every axis group applied.
ConfigValues combination(const SweepDefinition& sweep, const std::vector<std::size_t>& index) {
  ConfigValues values = sweep.base;
  for (std::size_t g = 0; g < sweep.groups.size(); ++g) {
    const AxisGroup& group = sweep.groups[g];
    for (std::size_t k = 0; k < group.keys.size(); ++k) {
      const auto& value = group.rows[index[g]][k];
      if (value) {
        values.entries[group.keys[k]] = *value;
      } else {
        values.entries.erase(group.keys[k]);
      }
    }
  }
  return values;
}

bool excluded(const SweepDefinition& sweep, const ConfigValues& values) {
  for (const auto& rule : sweep.excludes) {
    bool all = true;
    for (const auto& condition : rule.conditions) {
      const std::string actual = value_or_null(values, condition.key);
      all = all && std::find(condition.values.begin(), condition.values.end(), actual) != condition.values.end();
    }
    if (all) return true;
  }
  return false;
}

// Advances the odometer, last group fastest; false once every combination was visited.
bool next(std::vector<std::size_t>& index, const SweepDefinition& sweep) {
  for (std::size_t g = index.size(); g-- > 0;) {
    if (++index[g] < sweep.groups[g].rows.size()) return true;
    index[g] = 0;
  }
  return false;
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// Runs of one sweep must not write the same file; {hash} in a path keeps them apart.
void check_distinct(const std::string& key, const std::string& path, const ConfigValues& values,
                    std::unordered_map<std::string, std::string>& seen, const std::string& hash) {
  if (path.empty()) return;
  const auto [first, inserted] = seen.emplace(path, hash);
  if (!inserted) {
    fail("{}: key '{}': runs {} and {} would both write '{}'; put {{hash}} in the path", values.where(key), key,
         first->second, hash, path);
  }
}

}  // namespace

Sweep load_sweep_file(const std::string& path, const std::vector<std::string>& overrides) {
  SweepDefinition definition = read_sweep_definition(path);
  apply_sweep_overrides(definition, overrides);
  Sweep sweep;
  sweep.path = path;
  sweep.text = definition.text;
  sweep.overrides = overrides;
  for (const auto& group : definition.groups) {
    sweep.axes.insert(sweep.axes.end(), group.keys.begin(), group.keys.end());
  }
  sweep.combinations = count_combinations(definition);

  const Schema& schema = run_schema();
  std::unordered_set<std::string> hashes;
  std::unordered_map<std::string, std::string> outputs, checkpoints;
  std::vector<std::size_t> index(definition.groups.size(), 0);
  do {
    ConfigValues values = combination(definition, index);
    complete_config(values, schema);
    if (excluded(definition, values)) {
      ++sweep.excluded;
      continue;
    }
    SweepRun run;
    run.spec = run_spec_from_values(values);
    run.hash = run_hash(run.spec);
    if (!hashes.insert(run.hash).second) {
      ++sweep.duplicates;
      continue;
    }
    replace_all(run.spec.output, "{hash}", run.hash);
    replace_all(run.spec.checkpoint, "{hash}", run.hash);
    check_distinct("output", run.spec.output, values, outputs, run.hash);
    check_distinct("checkpoint", run.spec.checkpoint, values, checkpoints, run.hash);
    for (const auto& key : sweep.axes) {
      if (schema.find(key)->applies_to(values)) run.axes.emplace_back(key, value_or_null(values, key));
    }
    sweep.runs.push_back(std::move(run));
  } while (next(index, definition));
  return sweep;
}

}  // namespace statetune::sweeps
