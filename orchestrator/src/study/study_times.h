#pragma once
// Where a study's time went: its runs' phases (loading, calibration, evaluations, tuning
// steps, saving), summed over the runs of every rank group, and rank 0's results file, printed
// once at the end of a sweep with the process caches' reads, so that a slow study shows what
// to speed up.
#include "statetune/orchestrator/run_report.h"

namespace statetune::orchestrator {

class SweepCoordinator;

// Rank 0 prints the split on stdout: seconds and % of (groups x the wall time since the process
// started) per phase, the results file, what is left (start-up, waiting for work), and the
// caches' reads. A collective over
// MPI_COMM_WORLD: every rank calls it. `group_leader`: this rank's runs count (a group's other
// ranks ran the same runs). `coordinator`: rank 0's, nullptr on the other ranks.
void print_study_time_split(int groups, bool group_leader, const SweepCoordinator* coordinator);

}  // namespace statetune::orchestrator
