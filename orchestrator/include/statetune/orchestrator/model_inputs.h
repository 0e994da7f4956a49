#pragma once
// Loading what score/generate share: the model and an optional tuned-state file turned into
// the model's initial state.
#include <string>

#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

// The initial state from a tuned-state file (RWKV-PEFT time_state keys; token shifts zero),
// or an empty state (zeros) when path is empty.
workers::ModelState initial_state_from_file(const std::string& path, const workers::Rwkv7Model& model);

}  // namespace statetune::orchestrator
