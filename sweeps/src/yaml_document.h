#pragma once
// The yaml-cpp side of reading configs: loading a file with syntax errors that name the
// line, and reading a mapping of keys into ConfigValues with a Schema. Private to the
// module; nothing outside sweeps/ sees yaml-cpp.
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>

#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/field_spec.h"

namespace statetune::sweeps {

struct YamlFile {
  std::string name;      // as the user gave it; prefixes every message
  std::string base_dir;  // absolute directory of the file: relative paths resolve against it
  std::string text;
  YAML::Node root;       // Null for an empty file
};

YamlFile load_yaml_file(const std::string& path);

// "run.yaml:7" for a node (yaml-cpp lines are 0-based; ours are 1-based).
std::string where(const YamlFile& file, const YAML::Node& node);

// "a mapping", "a list", "a scalar", "nothing": for "expected X, got Y" messages.
std::string node_kind(const YAML::Node& node);

// A value node for one key: a scalar parsed by the key's type, or null (see null_value).
// nullopt means "unset" (a null for an optional key).
std::optional<Value> read_value(const FieldSpec& spec, const YAML::Node& node, const std::string& at,
                                const std::string& base_dir);

// Reads a mapping of config keys into `out` (which keeps what is already there unless a key
// is written again). Sections are nested mappings ("data:") or dotted keys ("data.train").
// Unknown keys, duplicate keys and wrong types are errors naming the line.
void read_config_mapping(const YamlFile& file, const YAML::Node& mapping, const Schema& schema, ConfigValues& out);

}  // namespace statetune::sweeps
