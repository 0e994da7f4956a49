#pragma once
// What the runs of one process read from files, through one process-wide ResourceCache: a
// sweep's runs on a rank read each model (its weights in their precision, on their device),
// vocabulary, data set and guide-trace file once while the files are unchanged, instead of once
// per run. The cap on what is kept between runs: STATETUNE_CACHE_MAX_MB (MiB; 0: nothing, every
// run reads its files) when set, else 8 GiB or a quarter of the machine's memory, whichever is
// less. Models on a GPU count against the same cap.
#include <functional>
#include <memory>
#include <string>

#include "statetune/data/guide_traces.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/resource_cache.h"
#include "statetune/orchestrator/run_setup.h"
#include "statetune/sweeps/run_spec.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

using Note = std::function<void(const std::string&)>;

// The model at `path` on the placement's device and in its precision. `note` says, naming it
// by `role` ("model", "guide"), its shape and memory and that it was loaded, or that it was
// reused from an earlier run.
std::shared_ptr<const workers::Rwkv7Model> shared_model(const std::string& path, const Placement& placement,
                                                        const std::string& role, const Note& note);

std::shared_ptr<const data::Tokenizer> shared_tokenizer(const std::string& vocab_path);

// load_run_examples(spec, tokenizer), where `tokenizer` is the one read from spec.vocab.
std::shared_ptr<const RunExamples> shared_run_examples(const sweeps::RunSpec& spec, const data::Tokenizer& tokenizer);

// data::GuideTraces::load(path, tokenizer), where `tokenizer` is the one read from vocab_path.
std::shared_ptr<const data::GuideTraces> shared_guide_traces(const std::string& path, const std::string& vocab_path,
                                                             const data::Tokenizer& tokenizer);

// The process's cache (its counts feed the study's time split).
ResourceCache& process_cache();

}  // namespace statetune::orchestrator
