#pragma once
// The schema of a run config (`statetune tune CONFIG.yaml`, and the `base:` of a sweep):
// one FieldSpec per RunSpec field, and the mapping between config values and RunSpec.
#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/field_spec.h"
#include "statetune/sweeps/run_spec.h"

namespace statetune::sweeps {

// Every run key: type, default (read from RunSpec{}), bounds, description, the methods it
// applies to, and whether it is part of the run's identity.
const Schema& run_schema();

// Resolved config values (read_config_file / complete_config with run_schema()) -> RunSpec,
// after the rules that tie keys together (init: prompt needs init_prompt, warmup_steps <=
// steps, ...). Errors name where the deciding value was written.
RunSpec run_spec_from_values(const ConfigValues& resolved);

// RunSpec -> config values (no locations): what the canonical form and printing use.
ConfigValues values_from_run_spec(const RunSpec& spec);

}  // namespace statetune::sweeps
