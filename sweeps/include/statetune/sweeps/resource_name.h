#pragma once
// Catalogue names in configs: `model: rwkv7-world-0.1b`, `vocab: rwkv-world-vocab`. A path
// key that takes names keeps such a value as written (not made absolute), so a study names
// what it used in a way that holds on any machine; the orchestrator resolves the name to the
// file `statetune fetch` put in its cache when the run starts.
#include <string_view>

namespace statetune::sweeps {

// Lower-case letters, digits, '.', '_' and '-', at least one '-', no '/', and no file
// extension a path would have (.pth, .safetensors, .txt, .json, .jsonl, .csv, .yaml, .h5):
// "rwkv7-world-0.1b" is a name; "model.pth", "m", "runs/x" are paths. A value that is a
// file beside the config stays a path even when it looks like a name.
bool looks_like_resource_name(std::string_view text);

// A value the config reader kept as a name: every real path it stores is absolute.
inline bool is_resource_name(std::string_view value) { return !value.empty() && value.front() != '/'; }

}  // namespace statetune::sweeps
