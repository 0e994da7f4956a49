#pragma once
// One run of a RunSpec on one rank group, start to end: load the frozen model and the data,
// evaluate before, tune (data parallel over `group`), evaluate after, save the tuned state.
// Shared by `tune` (one process) and `sweep` (rank groups under MPI). Every rank of the group
// calls it with the same spec; the evaluations are sharded over the ranks and gathered, so
// every rank returns the same report (only the group's rank 0 writes files).
#include "statetune/orchestrator/run_report.h"
#include "statetune/sweeps/run_spec.h"
#include "statetune/workers/communicator.h"

namespace statetune::orchestrator {

// Throws statetune::Error for bad input (missing files, malformed data); a run that diverges
// or is stopped returns normally with that status.
RunReport execute_run(const sweeps::RunSpec& spec, workers::Communicator& group, const RunControl& control);

}  // namespace statetune::orchestrator
