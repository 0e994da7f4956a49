// Reading and validating a sweep file: base, grid, zip, exclude (see sweep.h).
#include <algorithm>
#include <map>

#include "statetune/common/error.h"
#include "statetune/sweeps/run_schema.h"
#include "statetune/common/suggestion.h"
#include "sweep_definition.h"
#include "yaml_document.h"

namespace statetune::sweeps {
namespace {

const std::vector<std::string> kSweepSections = {"base", "grid", "zip", "exclude"};

// A null element carries no usable mark (none in a flow list; in a block list, that of the
// next token, a line too far): fall back to its key's line.
std::string where_or(const YamlFile& file, const YAML::Node& node, const std::string& fallback) {
  return node.IsNull() || node.Mark().line < 0 ? fallback : where(file, node);
}

// The spec of an axis or exclude key; errors suggest a known key.
const FieldSpec& run_key(const std::string& key, const std::string& at) {
  const Schema& schema = run_schema();
  if (const FieldSpec* spec = schema.find(key)) return *spec;
  if (schema.is_section(key)) fail("{}: key '{}': name the keys of a section as '{}.KEY'", at, key, key);
  const std::string suggestion = schema.suggest(key);
  if (suggestion.empty()) fail("{}: unknown key '{}'", at, key);
  fail("{}: unknown key '{}' (did you mean '{}'?)", at, key, suggestion);
}

// Axes already declared (grid or zip), so that none is declared twice.
using AxisLines = std::map<std::string, std::string>;

// key: [v1, v2, ...] -> the values, each checked as the key's type.
std::vector<std::optional<ConfigEntry>> read_axis(const YamlFile& file, const YAML::Node& key_node,
                                                  const YAML::Node& values_node, AxisLines& declared) {
  const std::string at = where(file, key_node);
  if (!key_node.IsScalar()) fail("{}: expected an axis name, got {}", at, node_kind(key_node));
  const std::string key = key_node.Scalar();
  const FieldSpec& spec = run_key(key, at);
  const auto [first, inserted] = declared.emplace(key, at);
  if (!inserted) fail("{}: axis '{}' is declared twice (first at {})", at, key, first->second);
  if (!values_node.IsSequence()) {
    fail("{}: axis '{}': expected a list of values, got {}", at, key, node_kind(values_node));
  }
  if (values_node.size() == 0) fail("{}: axis '{}' has no values", at, key);
  std::vector<std::optional<ConfigEntry>> values;
  for (const auto& element : values_node) {
    const std::string element_at = where_or(file, element, at);
    const auto value = read_value(spec, element, element_at, file.base_dir);
    values.push_back(value ? std::optional<ConfigEntry>(ConfigEntry{*value, element_at}) : std::nullopt);
  }
  return values;
}

void read_grid(const YamlFile& file, const YAML::Node& grid, AxisLines& declared, SweepDefinition& out) {
  if (grid.IsNull()) return;
  if (!grid.IsMap()) fail("{}: 'grid': expected a mapping of axes, got {}", where(file, grid), node_kind(grid));
  for (auto it = grid.begin(); it != grid.end(); ++it) {
    AxisGroup group;
    for (auto& value : read_axis(file, it->first, it->second, declared)) group.rows.push_back({std::move(value)});
    group.keys.push_back(it->first.Scalar());
    group.declared_at.push_back(where(file, it->first));
    out.groups.push_back(std::move(group));
  }
}

void read_zip(const YamlFile& file, const YAML::Node& zip, AxisLines& declared, SweepDefinition& out) {
  if (zip.IsNull()) return;
  if (!zip.IsSequence()) fail("{}: 'zip': expected a list of axis groups, got {}", where(file, zip), node_kind(zip));
  for (const auto& group_node : zip) {
    const std::string at = where(file, group_node);
    if (!group_node.IsMap() || group_node.size() == 0) {
      fail("{}: zip group: expected a mapping of axes, got {}", at, node_kind(group_node));
    }
    AxisGroup group;
    std::string first_key, first_at;
    for (auto it = group_node.begin(); it != group_node.end(); ++it) {
      const std::string key_at = where(file, it->first);
      auto values = read_axis(file, it->first, it->second, declared);
      const std::string key = it->first.Scalar();
      if (group.keys.empty()) {
        group.rows.resize(values.size());
        first_key = key;
      } else if (values.size() != group.rows.size()) {
        fail("{}: zip group: axis '{}' has {} values but '{}' has {}; zipped axes need the same number", key_at, key,
             values.size(), first_key, group.rows.size());
      }
      group.keys.push_back(key);
      group.declared_at.push_back(key_at);
      for (std::size_t i = 0; i < values.size(); ++i) group.rows[i].push_back(std::move(values[i]));
    }
    out.groups.push_back(std::move(group));
  }
}

void read_excludes(const YamlFile& file, const YAML::Node& exclude, SweepDefinition& out) {
  if (exclude.IsNull()) return;
  if (!exclude.IsSequence()) {
    fail("{}: 'exclude': expected a list of rules, got {}", where(file, exclude), node_kind(exclude));
  }
  for (const auto& rule_node : exclude) {
    ExcludeRule rule;
    if (!rule_node.IsMap() || rule_node.size() == 0) {
      fail("{}: exclude rule: expected a mapping of key: value, got {}", where(file, rule_node), node_kind(rule_node));
    }
    for (auto it = rule_node.begin(); it != rule_node.end(); ++it) {
      const std::string at = where(file, it->first);
      if (!it->first.IsScalar()) fail("{}: exclude rule: expected a key name, got {}", at, node_kind(it->first));
      ExcludeCondition condition;
      condition.key = it->first.Scalar();
      const FieldSpec& spec = run_key(condition.key, at);
      // One value, or a list of values any of which matches.
      std::vector<YAML::Node> value_nodes;
      if (it->second.IsSequence()) {
        for (const auto& v : it->second) value_nodes.push_back(v);
      } else {
        value_nodes.push_back(it->second);
      }
      for (const auto& v : value_nodes) {
        const auto value = read_value(spec, v, where_or(file, v, at), file.base_dir);
        condition.values.push_back(value ? format_value(*value) : "null");
      }
      rule.conditions.push_back(std::move(condition));
    }
    out.excludes.push_back(std::move(rule));
  }
}

}  // namespace

std::string value_or_null(const ConfigValues& values, const std::string& key) {
  const Value* value = values.find(key);
  return value ? format_value(*value) : "null";
}

SweepDefinition read_sweep_definition(const std::string& path) {
  const YamlFile file = load_yaml_file(path);
  SweepDefinition out;
  out.path = path;
  out.text = file.text;
  const YAML::Node& root = file.root;
  if (!root.IsMap()) fail("{}: expected a sweep (base:, grid:, zip:, exclude:), got {}", where(file, root), node_kind(root));

  std::map<std::string, YAML::Node> sections;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string at = where(file, it->first);
    const std::string name = it->first.Scalar();
    if (std::find(kSweepSections.begin(), kSweepSections.end(), name) == kSweepSections.end()) {
      fail("{}: unknown sweep section '{}'{}; expected base, grid, zip or exclude", at, name,
           did_you_mean(name, kSweepSections));
    }
    if (!sections.emplace(name, it->second).second) fail("{}: section '{}' is written twice", at, name);
    if (name == "base") out.base.source = at;
  }
  if (!sections.count("base")) fail("{}: missing section 'base' (the run config every run starts from)", path);

  read_config_mapping(file, sections["base"], run_schema(), out.base);
  AxisLines declared;
  if (sections.count("grid")) read_grid(file, sections["grid"], declared, out);
  if (sections.count("zip")) read_zip(file, sections["zip"], declared, out);
  if (sections.count("exclude")) read_excludes(file, sections["exclude"], out);
  return out;
}

}  // namespace statetune::sweeps
