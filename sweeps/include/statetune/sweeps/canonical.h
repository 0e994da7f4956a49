#pragma once
// The canonical form of a resolved config, its hash, and its printed YAML.
//
// Canonical form: one "key: value" line per key, keys sorted, values normalised by
// format_value (strings double-quoted), defaults filled; left out are keys that do not
// apply (M for method standard) and keys with in_hash = false (output paths, name, threads).
// Two configs that must give the same results have the same canonical form; its FNV-1a
// 64-bit hash, 16 hex digits, names the run.
#include <string>

#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/field_spec.h"

namespace statetune::sweeps {

std::string canonical_text(const Schema& schema, const ConfigValues& resolved);
std::string canonical_hash(const Schema& schema, const ConfigValues& resolved);

// Every key of the schema, sorted, sections as nested mappings, unset optional keys as null.
// Reading the text back gives the same config.
std::string config_yaml(const Schema& schema, const ConfigValues& resolved);

}  // namespace statetune::sweeps
