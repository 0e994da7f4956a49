#include "yaml_document.h"

#include <filesystem>
#include <map>

#include "scalar_parser.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/suggestion.h"

namespace statetune::sweeps {
namespace {

// The names that can be written under `prefix` ("" at the top: plain keys and section
// names; "data." inside a section: its keys without the prefix), for suggestions.
std::vector<std::string> keys_under(const Schema& schema, const std::string& prefix) {
  std::vector<std::string> keys;
  for (const auto& f : schema.fields()) {
    if (f.key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = f.key.substr(prefix.size());
    const std::string name = rest.substr(0, rest.find('.'));
    if (keys.empty() || keys.back() != name) keys.push_back(name);  // fields are sorted
  }
  return keys;
}

void read_mapping_under(const YamlFile& file, const YAML::Node& mapping, const Schema& schema,
                        const std::string& prefix, ConfigValues& out, std::map<std::string, std::string>& seen) {
  for (auto it = mapping.begin(); it != mapping.end(); ++it) {
    const YAML::Node key_node = it->first;  // copies: it-> yields a temporary proxy
    const YAML::Node value_node = it->second;
    const std::string at = where(file, key_node);  // a null value's mark points past the key
    if (!key_node.IsScalar()) fail("{}: expected a key name, got {}", at, node_kind(key_node));
    const std::string key = prefix + key_node.Scalar();

    const auto [previous, inserted] = seen.emplace(key, at);
    if (!inserted) fail("{}: key '{}' is written twice (first at {})", at, key, previous->second);

    if (prefix.empty() && schema.is_section(key)) {
      if (!value_node.IsMap()) fail("{}: key '{}': expected a mapping of {}.* keys, got {}", at, key, key, node_kind(value_node));
      read_mapping_under(file, value_node, schema, key + ".", out, seen);
      continue;
    }
    const FieldSpec* spec = schema.find(key);
    if (!spec) {
      const std::string suggestion = closest_match(key_node.Scalar(), keys_under(schema, prefix));
      if (suggestion.empty()) fail("{}: unknown key '{}'", at, key);
      fail("{}: unknown key '{}' (did you mean '{}'?)", at, key, prefix + suggestion);
    }
    const auto value = read_value(*spec, value_node, at, file.base_dir);
    if (value) {
      out.entries[key] = ConfigEntry{*value, at};
    } else {
      out.entries.erase(key);
    }
  }
}

}  // namespace

YamlFile load_yaml_file(const std::string& path) {
  YamlFile file;
  file.name = path;
  file.base_dir = std::filesystem::absolute(std::filesystem::path(path)).parent_path().lexically_normal().string();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, expected a YAML file", path);
  file.text = read_file_bytes(path);
  try {
    file.root = YAML::Load(file.text);
  } catch (const YAML::ParserException& e) {
    fail("{}:{}: YAML syntax error: {}", path, e.mark.line + 1, e.msg);
  }
  return file;
}

std::string where(const YamlFile& file, const YAML::Node& node) {
  const int line = node.Mark().line;
  return line < 0 ? file.name : fmt::format("{}:{}", file.name, line + 1);
}

std::string node_kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return fmt::format("'{}'", node.Scalar());
    default: return "nothing";
  }
}

std::optional<Value> read_value(const FieldSpec& spec, const YAML::Node& node, const std::string& at,
                                const std::string& base_dir) {
  if (node.IsNull()) return null_value(spec, at);
  if (!node.IsScalar()) fail("{}: key '{}': expected {}, got {}", at, spec.key, spec.expected_type(), node_kind(node));
  return parse_scalar(spec, node.Scalar(), at, base_dir);
}

void read_config_mapping(const YamlFile& file, const YAML::Node& mapping, const Schema& schema, ConfigValues& out) {
  if (mapping.IsNull()) return;  // an empty file or section: nothing written
  if (!mapping.IsMap()) fail("{}: expected a mapping of config keys, got {}", where(file, mapping), node_kind(mapping));
  std::map<std::string, std::string> seen;  // key -> where first written
  read_mapping_under(file, mapping, schema, "", out, seen);
}

}  // namespace statetune::sweeps
