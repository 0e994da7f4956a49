#pragma once
// The guide model of a process, loaded once: the runs of a sweep that share a guide (observer
// tuning, tts) on one rank reuse its weights instead of reading them again per run. The
// previous guide is released when another is asked for, so at most one is held.
#include <functional>
#include <memory>
#include <string>

#include "statetune/orchestrator/placement.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

// The guide at `path` on the placement's device and in its precision (loaded now, or kept
// from the previous call with the same path and placement), with its weights' memory reported
// through `note` when it is loaded.
std::shared_ptr<const workers::Rwkv7Model> load_guide(const std::string& path, const Placement& placement,
                                                      const std::function<void(const std::string&)>& note);

}  // namespace statetune::orchestrator
