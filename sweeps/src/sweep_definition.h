#pragma once
// A sweep file as read and validated, before expansion.
#include <optional>
#include <string>
#include <vector>

#include "statetune/sweeps/config_value.h"

namespace statetune::sweeps {

// One axis of the product: a single grid axis, or a zip group of axes of equal length.
struct AxisGroup {
  std::vector<std::string> keys;
  std::vector<std::string> declared_at;  // where each key is written ("sweep.yaml:8")
  // rows[i][k]: the value of keys[k] at position i; nullopt unsets an optional key.
  std::vector<std::vector<std::optional<ConfigEntry>>> rows;
};

struct ExcludeCondition {
  std::string key;
  std::vector<std::string> values;  // format_value text, "null" for unset; any of them matches
};

struct ExcludeRule {
  std::vector<ExcludeCondition> conditions;  // all must match
};

struct SweepDefinition {
  std::string path;
  std::string text;
  ConfigValues base;  // as written: no defaults yet
  std::vector<AxisGroup> groups;
  std::vector<ExcludeRule> excludes;
};

SweepDefinition read_sweep_definition(const std::string& path);

// Applies command-line "key=value" overrides to the base, checked exactly as a run config's
// overrides are (config_reader.h). Overriding a key that is an axis is an error naming the
// key and where the axis is declared: an override sets one value for every run.
void apply_sweep_overrides(SweepDefinition& sweep, const std::vector<std::string>& overrides);

// format_value text of a run's value, or "null" when unset.
std::string value_or_null(const ConfigValues& values, const std::string& key);

}  // namespace statetune::sweeps
