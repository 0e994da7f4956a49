#pragma once
// The paths a study writes, checked before any run (`sweep`) or before any job is queued
// (`submit`): a study must not find out hours in, or after a wait in the queue, that a run's
// output folder was a typo.
#include <string>

#include "statetune/sweeps/sweep.h"

namespace statetune::orchestrator {

// Every run's output and checkpoint can be written (nothing is created: a run makes its
// folders once it has loaded), and the results file's folder is made. Throws statetune::Error
// naming the run, the key and the path.
void prepare_study_paths(const sweeps::Sweep& sweep, const std::string& results_path);

}  // namespace statetune::orchestrator
