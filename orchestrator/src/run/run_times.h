#pragma once
// This process's sums of its runs' phases (RunTimes): execute_run adds every run's, also one
// that throws, and a sweep prints them as the study's time split (study/study_times.h).
#include "statetune/orchestrator/run_report.h"

namespace statetune::orchestrator {

void add_to_process_times(const RunTimes& times);

struct ProcessTimes {
  RunTimes sums;
  double runs = 0;  // how many runs were added
};
ProcessTimes process_times();

}  // namespace statetune::orchestrator
