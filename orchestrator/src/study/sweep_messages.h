#pragma once
// What global rank 0 and the rank-group leaders say to each other over MPI_COMM_WORLD while a
// study runs. Payloads are JSON text: a few per run, so clarity beats compactness.
//   leader -> 0  kRequest {"host", "signal"}        ready for a run (after each result)
//   0 -> leader  kAssign  {"index"}                 a run of the sweep, or -1: no more work
//   leader -> 0  kResult  {"report", "host", "signal"}, then kResultState: the state's floats
//   0 -> leader  kStop    {}                        stop the current run after its step
#include <mpi.h>

#include <nlohmann/json.hpp>
#include <string>

#include "statetune/orchestrator/run_executor.h"

namespace statetune::orchestrator {

enum SweepTag : int { kRequest = 101, kAssign = 102, kResult = 103, kStop = 104, kResultState = 105 };

void send_json(const nlohmann::json& message, int to, SweepTag tag);
// Receives a message already known to be there (after a probe), or waits for it.
nlohmann::json receive_json(int from, SweepTag tag);
// The source and tag of a waiting message (block: wait for one), or false.
bool probe_message(bool block, int* from, int* tag);

// Rank 0's message to every rank of MPI_COMM_WORLD (a collective: every rank calls it; the
// others' `message` is ignored and they return rank 0's).
nlohmann::json broadcast_json(const nlohmann::json& message, int rank);

// The report without its state tensors' values (their names and shapes are in it); the values
// follow as one binary message (send_state / receive_state), not as JSON text.
nlohmann::json to_json(const RunReport& report);
RunReport report_from_json(const nlohmann::json& j);
void send_state(const RunReport& report, int to);
void receive_state(int from, RunReport& report);

}  // namespace statetune::orchestrator
