#pragma once
// The rules of a run config that tie several keys together, beyond each key's own type and
// bounds (which FieldSpec checks).
#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/run_spec.h"

namespace statetune::sweeps {

// `run` was made from `resolved`, whose locations name the line of the deciding key.
void check_run_rules(const RunSpec& run, const ConfigValues& resolved);

}  // namespace statetune::sweeps
