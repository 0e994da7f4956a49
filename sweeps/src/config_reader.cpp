#include "statetune/sweeps/config_reader.h"

#include <filesystem>

#include "scalar_parser.h"
#include "statetune/common/error.h"
#include "yaml_document.h"

namespace statetune::sweeps {

ConfigValues read_config_file(const std::string& path, const Schema& schema, const std::vector<std::string>& overrides) {
  const YamlFile file = load_yaml_file(path);
  ConfigValues values;
  values.source = path;
  read_config_mapping(file, file.root, schema, values);
  apply_overrides(values, schema, overrides);
  complete_config(values, schema);
  return values;
}

void apply_overrides(ConfigValues& values, const Schema& schema, const std::vector<std::string>& overrides) {
  const std::string cwd = std::filesystem::current_path().string();
  for (const auto& item : overrides) {
    const std::string at = "command line: " + item;
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) fail("{}: expected key=value", at);
    const std::string key = item.substr(0, eq);
    const std::string text = item.substr(eq + 1);
    const FieldSpec* spec = schema.find(key);
    if (!spec) {
      if (schema.is_section(key)) fail("{}: '{}' is a section; set its keys as {}.KEY=VALUE", at, key, key);
      const std::string suggestion = schema.suggest(key);
      if (suggestion.empty()) fail("{}: unknown key '{}'", at, key);
      fail("{}: unknown key '{}' (did you mean '{}'?)", at, key, suggestion);
    }
    if (text.empty() && spec->presence == Presence::kOptional) {
      values.entries.erase(key);
      continue;
    }
    values.entries[key] = ConfigEntry{parse_scalar(*spec, text, at, cwd), at};
  }
}

void complete_config(ConfigValues& values, const Schema& schema) {
  for (const auto& spec : schema.fields()) {
    if (spec.presence == Presence::kDefault && !values.has(spec.key)) {
      values.entries[spec.key] = ConfigEntry{spec.default_value, ""};
    }
  }
  // Required keys are checked after defaults, since whether one applies may depend on them.
  for (const auto& spec : schema.fields()) {
    if (spec.presence != Presence::kRequired || !spec.applies_to(values)) continue;
    const Value* value = values.find(spec.key);
    if (!value) fail("{}: missing required key '{}' ({})", values.source, spec.key, spec.description);
    const auto* text = std::get_if<std::string>(value);
    if (text && text->empty()) {
      fail("{}: key '{}': expected {}, got nothing", values.where(spec.key), spec.key, spec.expected_type());
    }
  }
}

}  // namespace statetune::sweeps
