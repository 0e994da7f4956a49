#pragma once
// The typed values of a config, before they become a RunSpec: what the YAML reader, the
// command-line overrides and the sweep expansion produce and exchange. Each value remembers
// where it was written, so a rule broken later still names the file and line.
#include <cstdint>
#include <map>
#include <string>
#include <variant>

namespace statetune::sweeps {

// One scalar: bool | int | float | text. Enums and paths are text (paths already resolved).
using Value = std::variant<bool, std::int64_t, double, std::string>;

struct ConfigEntry {
  Value value;
  std::string where;  // "run.yaml:7", or "command line: lr=2"; empty when made in code
};

// Keys are dotted for nested sections ("data.train"). Only keys that are set are present:
// an optional key without a value (gamma) is simply absent.
struct ConfigValues {
  std::map<std::string, ConfigEntry> entries;
  std::string source;  // where the config as a whole came from ("run.yaml", "sweep.yaml:2")

  bool has(const std::string& key) const { return entries.count(key) != 0; }
  const Value* find(const std::string& key) const;
  // The location of key's value, or the source when the key was not written.
  const std::string& where(const std::string& key) const;
};

// The normalised text of a value, the same for every way of writing it: floats in the
// shortest form that round-trips (1, 1.0 and 1e0 all give "1"; 0.003 gives "0.003"), -0 as
// 0, bools as true/false, text as is. Used for the canonical form and for comparisons.
std::string format_value(const Value& value);

// A YAML double-quoted scalar holding `text` (escapes \\ \" and control characters).
std::string yaml_quote(const std::string& text);

}  // namespace statetune::sweeps
