#include "statetune/sweeps/run_schema.h"

#include "run_fields.h"
#include "run_rules.h"

namespace statetune::sweeps {

const Schema& run_schema() {
  static const Schema schema = [] {
    std::vector<FieldSpec> specs;
    for (const auto& field : run_fields()) specs.push_back(field.spec);
    return Schema(std::move(specs));
  }();
  return schema;
}

RunSpec run_spec_from_values(const ConfigValues& resolved) {
  RunSpec run;
  for (const auto& field : run_fields()) {
    const Value* value = resolved.find(field.spec.key);
    field.set(run, value ? std::optional<Value>(*value) : std::nullopt);
  }
  check_run_rules(run, resolved);
  return run;
}

ConfigValues values_from_run_spec(const RunSpec& spec) {
  ConfigValues values;
  values.source = spec.name.empty() ? "run" : "run '" + spec.name + "'";
  for (const auto& field : run_fields()) {
    if (auto value = field.get(spec)) values.entries[field.spec.key] = ConfigEntry{std::move(*value), ""};
  }
  return values;
}

}  // namespace statetune::sweeps
