#include "statetune/sweeps/canonical.h"

#include <map>
#include <vector>

#include <fmt/format.h>

#include "statetune/common/hash.h"

namespace statetune::sweeps {
namespace {

// Text values are quoted so that a prompt holding newlines or ": " stays one line and
// cannot be mistaken for another key; other types print bare.
std::string value_text(const FieldSpec& spec, const Value& value) {
  const bool is_text = spec.type == FieldType::kString || spec.type == FieldType::kPath;
  return is_text ? yaml_quote(format_value(value)) : format_value(value);
}

}  // namespace

std::string canonical_text(const Schema& schema, const ConfigValues& resolved) {
  std::string out;
  for (const auto& spec : schema.fields()) {  // sorted by key
    if (!spec.in_hash || !spec.applies_to(resolved)) continue;
    const Value* value = resolved.find(spec.key);
    if (!value) continue;  // an unset optional key
    out += fmt::format("{}: {}\n", spec.key, value_text(spec, *value));
  }
  return out;
}

std::string canonical_hash(const Schema& schema, const ConfigValues& resolved) {
  return hex16(fnv1a64(canonical_text(schema, resolved)));
}

std::string config_yaml(const Schema& schema, const ConfigValues& resolved) {
  // Group by top-level name so that a section prints once, where its name sorts.
  std::map<std::string, std::vector<const FieldSpec*>> groups;
  for (const auto& spec : schema.fields()) {
    const auto dot = spec.key.find('.');
    groups[dot == std::string::npos ? spec.key : spec.key.substr(0, dot)].push_back(&spec);
  }
  std::string out;
  for (const auto& [name, specs] : groups) {
    const bool section = specs.front()->key != name;
    if (section) out += name + ":\n";
    for (const FieldSpec* spec : specs) {
      const Value* value = resolved.find(spec->key);
      const std::string shown = value ? value_text(*spec, *value) : "null";
      if (section) {
        out += fmt::format("  {}: {}\n", spec->key.substr(name.size() + 1), shown);
      } else {
        out += fmt::format("{}: {}\n", spec->key, shown);
      }
    }
  }
  return out;
}

}  // namespace statetune::sweeps
