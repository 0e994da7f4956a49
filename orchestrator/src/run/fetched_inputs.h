#pragma once
// A run's catalogue names made into files: `model: rwkv7-world-0.1b` and a named benchmark
// without paths (`data.benchmark: arc_challenge`) become what `statetune fetch` put in its
// cache (STATETUNE_CACHE). The study keeps the names; only the running copy has the paths.
#include "statetune/sweeps/run_spec.h"
#include "statetune/sweeps/sweep.h"

namespace statetune::orchestrator {

// The run with its names resolved; a name that is not fetched is an error saying which
// `statetune fetch` command gets it. A run without names comes back unchanged.
sweeps::RunSpec with_fetched_inputs(const sweeps::RunSpec& spec);

// A command-line flag's value: a file, or (when no such file exists) a catalogue name.
std::string fetched_or_path(const std::string& value);

// Before any work (sweep, submit, tune): every run's names resolve, or the first that does
// not is an error naming the run and the fetch command.
void check_fetched_inputs(const sweeps::Sweep& sweep);

}  // namespace statetune::orchestrator
