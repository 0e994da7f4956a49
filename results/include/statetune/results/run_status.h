#pragma once
// The life of one run in a study file. A run is `pending` when planned, `running` while a
// rank group works on it, and ends `done`, `failed` (threw), `diverged` (NaN loss) or
// `interrupted` (SIGTERM/USR1, or found `running` when a study resumes after a crash).
#include <string>
#include <string_view>

namespace statetune::results {

enum class RunStatus { kPending, kRunning, kDone, kFailed, kDiverged, kInterrupted };

// The spelling stored in the file: "pending", "running", "done", ...
std::string_view to_string(RunStatus status);
// The inverse; throws statetune::Error naming `where` for an unknown spelling.
RunStatus parse_run_status(std::string_view text, const std::string& where);

// Every status, in the order reports list them.
inline constexpr RunStatus kAllRunStatuses[] = {RunStatus::kDone,     RunStatus::kFailed,
                                                RunStatus::kDiverged, RunStatus::kInterrupted,
                                                RunStatus::kRunning,  RunStatus::kPending};

// True for the statuses a run ends in (done, failed, diverged, interrupted).
bool is_final(RunStatus status);

}  // namespace statetune::results
