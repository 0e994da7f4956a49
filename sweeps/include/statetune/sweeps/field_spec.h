#pragma once
// The description of one config key, and the table (Schema) of all keys of a config. The
// parser, the overrides, the sweep axes, the printed YAML and the canonical hash are all
// driven by this table, so a key is declared once.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statetune/sweeps/config_value.h"

namespace statetune::sweeps {

enum class FieldType { kString, kPath, kInt, kFloat, kBool, kEnum };

// kDefault: absent means default_value. kRequired: must be given. kOptional: may stay unset
// (no default; a YAML null or an empty override value unsets it).
enum class Presence { kDefault, kRequired, kOptional };

struct FieldSpec {
  std::string key;  // dotted for a nested section: "data.train"
  std::string description;
  FieldType type = FieldType::kString;
  Presence presence = Presence::kDefault;
  Value default_value;               // used when presence == kDefault
  std::vector<std::string> choices;  // the spellings of an enum
  std::optional<double> min, max;    // numeric bounds (inclusive unless min_exclusive)
  bool min_exclusive = false;
  // When the key has an effect. A key that does not apply (M for method standard) is left
  // out of the canonical form, so sweep axes over it collapse. Null: always applies.
  std::function<bool(const ConfigValues&)> applies;
  std::string applies_doc;   // the same in words: "method: kernel, dbp"
  bool in_hash = true;       // false for keys that cannot change results (output paths, threads)
  // A path key that also takes a catalogue name (`model: rwkv7-world-0.1b`, see
  // resource_name.h): such a value is kept as written, and `statetune fetch`'s cache
  // resolves it when the run starts.
  bool names_allowed = false;

  FieldSpec() = default;
  FieldSpec(std::string key_, std::string description_)
      : key(std::move(key_)), description(std::move(description_)) {}

  // Chainable modifiers, so a table of fields reads one line per key.
  FieldSpec& path() { type = FieldType::kPath; return *this; }
  FieldSpec& required() { presence = Presence::kRequired; return *this; }
  FieldSpec& path_or_name() { type = FieldType::kPath; names_allowed = true; return *this; }
  FieldSpec& optional() { presence = Presence::kOptional; return *this; }
  FieldSpec& at_least(double v) { min = v; min_exclusive = false; return *this; }
  FieldSpec& above(double v) { min = v; min_exclusive = true; return *this; }
  FieldSpec& at_most(double v) { max = v; return *this; }
  FieldSpec& not_in_hash() { in_hash = false; return *this; }
  FieldSpec& applies_when(std::string doc, std::function<bool(const ConfigValues&)> pred) {
    applies_doc = std::move(doc);
    applies = std::move(pred);
    return *this;
  }

  bool applies_to(const ConfigValues& values) const { return !applies || applies(values); }
  // What a value must be, for error messages: the type alone ("an integer", "one of
  // zeros|prompt"), and with the bounds ("an integer >= 1"), said once the type is right.
  std::string expected_type() const;
  std::string expected() const;
};

class Schema {
 public:
  explicit Schema(std::vector<FieldSpec> fields);

  const std::vector<FieldSpec>& fields() const { return fields_; }  // sorted by key
  const FieldSpec* find(std::string_view key) const;
  // "data" when some key is "data.*".
  bool is_section(std::string_view name) const;
  // The closest known key to a misspelt one, or "" when none is close.
  std::string suggest(std::string_view unknown) const;

 private:
  std::vector<FieldSpec> fields_;
};

}  // namespace statetune::sweeps
