#pragma once
// Text of one value -> a typed Value, checked against its FieldSpec. The one place where
// types and bounds are checked, shared by the YAML reader, the overrides and sweep axes,
// so every entry point gives the same message.
#include <optional>
#include <string>

#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/field_spec.h"

namespace statetune::sweeps {

// `where` prefixes errors ("run.yaml:7"); relative paths are resolved against base_dir.
Value parse_scalar(const FieldSpec& spec, const std::string& text, const std::string& where,
                   const std::string& base_dir);

// What "no value" (YAML null, `key:` with nothing after it) means for a key: unset for an
// optional key, "" for a string or path, an error otherwise.
std::optional<Value> null_value(const FieldSpec& spec, const std::string& where);

// A path made absolute against base_dir and normalised; "" stays "".
std::string resolve_path(const std::string& text, const std::string& base_dir);

}  // namespace statetune::sweeps
