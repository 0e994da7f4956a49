#pragma once
// One run's config file: `statetune tune CONFIG.yaml [key=value ...]`.
//
//   model: ../models/rwkv7-0.1b.pth     # relative to this file's directory
//   vocab: ../models/rwkv_vocab_v20230424.txt
//   output: out/arc_kernel.pth
//   method: kernel
//   M: 256
//   data:
//     benchmark: arc_challenge
//     train: ../data/arc/train.jsonl
//
// Keys, types and defaults: run_schema.h (and RunSpec's fields). Overrides win over the
// file and are checked the same way. The run's identity is run_hash(): see canonical.h.
#include <string>
#include <vector>

#include "statetune/sweeps/run_spec.h"

namespace statetune::sweeps {

RunSpec load_run_file(const std::string& path, const std::vector<std::string>& overrides = {});

// The canonical form (keys that change results, sorted, normalised) and its 16-hex hash.
std::string run_canonical_text(const RunSpec& spec);
std::string run_hash(const RunSpec& spec);

// The resolved config as YAML: every key, defaults filled, sorted. It loads back as the same
// RunSpec. What `tune` prints at start and saves beside its output.
std::string run_yaml(const RunSpec& spec);
void save_run_yaml(const RunSpec& spec, const std::string& path);

}  // namespace statetune::sweeps
