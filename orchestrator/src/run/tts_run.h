#pragma once
// method: tts (METHOD.md §4): test-time scaling per evaluation question. Nothing is trained up
// front; each question gets a copy of the start state adapted under the guide, is answered with
// it and scored by the benchmark's rules, and the copy is discarded. The report holds, per
// benchmark, the student before TTS, after TTS and the guide's own accuracy on the same items,
// with the guide tokens, tuning steps and wall time per question next to plain evaluation's.
#include "statetune/orchestrator/run_report.h"
#include "statetune/sweeps/run_spec.h"
#include "statetune/workers/communicator.h"

namespace statetune::orchestrator {

// Questions are sharded over the group's ranks and gathered; every rank returns the report.
// times.load: the loading's seconds (execute_run counts the rest as the questions').
RunReport execute_tts_run(const sweeps::RunSpec& spec, workers::Communicator& group, const RunControl& control,
                          RunTimes& times);

}  // namespace statetune::orchestrator
