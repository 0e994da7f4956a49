#pragma once
// The run schema's table, each key bound to its RunSpec member: the FieldSpec plus how to
// read the member as a Value and write a Value into it. One entry per key keeps the YAML
// name, the type, the default and the struct field from drifting apart.
#include <functional>
#include <optional>
#include <vector>

#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/field_spec.h"
#include "statetune/sweeps/run_spec.h"

namespace statetune::sweeps {

struct RunField {
  FieldSpec spec;
  std::function<std::optional<Value>(const RunSpec&)> get;  // nullopt: an unset optional
  std::function<void(RunSpec&, const std::optional<Value>&)> set;
};

const std::vector<RunField>& run_fields();

}  // namespace statetune::sweeps
