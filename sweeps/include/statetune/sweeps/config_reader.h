#pragma once
// YAML file -> validated config values, for any Schema.
//
// Order of precedence: defaults < the file < command-line overrides. Every value is
// type-checked against its FieldSpec, and errors are one line naming where it was written:
//   run.yaml:7: key 'dbp_lambda': expected a number >= 0, got 'abc'
//   run.yaml:3: unknown key 'lrr' (did you mean 'lr'?)
//   command line: M=abc: key 'M': expected an integer >= 1, got 'abc'
//
// Paths: a relative path written in a file is relative to that file's directory; one given
// on the command line is relative to the current directory. Both are stored absolute and
// normalised, so a config means the same thing from wherever it is run. (The canonical hash
// therefore includes the absolute location of inputs such as the model and data files.)
#include <string>
#include <vector>

#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/field_spec.h"

namespace statetune::sweeps {

// The keys written in the file, then the overrides; then defaults and required keys.
ConfigValues read_config_file(const std::string& path, const Schema& schema,
                              const std::vector<std::string>& overrides = {});

// Applies "key=value" overrides (dotted keys for sections: data.train=x.jsonl). The value
// text is taken literally (no YAML quoting); an empty value unsets an optional key.
void apply_overrides(ConfigValues& values, const Schema& schema, const std::vector<std::string>& overrides);

// Fills defaults of absent keys, then checks that every required key that applies is set.
void complete_config(ConfigValues& values, const Schema& schema);

}  // namespace statetune::sweeps
