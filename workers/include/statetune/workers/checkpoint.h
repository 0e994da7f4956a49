#pragma once
// Checkpoint files: the official BlinkDL .pth (a torch.save zip of a state dict) and
// .safetensors, with either the official key names or the HF fla-hub names. Loading always
// returns official names; weights never require grad. Every bad file is a statetune::Error
// whose one-line message names the file, the key or byte offset, and what was expected.
#include <string>

#include "statetune/workers/tensor_map.h"

namespace statetune::workers {

enum class CheckpointFormat { kPth, kSafetensors };

// Detects the format from the file's first bytes (zip "PK\x03\x04" or a safetensors header).
TensorMap load_checkpoint(const std::string& path);
TensorMap load_pth(const std::string& path);
TensorMap load_safetensors(const std::string& path);

// Writes atomically (nothing half-written on failure). Tensors are written in their dtype.
void save_pth(const std::string& path, const TensorMap& tensors);
void save_safetensors(const std::string& path, const TensorMap& tensors);
// Picks the format from the extension (.safetensors, else .pth).
void save_checkpoint(const std::string& path, const TensorMap& tensors);

// HF fla-hub naming <-> official naming (with the transposes/squeezes of fla's converter).
bool looks_like_fla_naming(const TensorMap& tensors);
TensorMap fla_to_official(const TensorMap& fla, const std::string& source);
TensorMap official_to_fla(const TensorMap& official);

}  // namespace statetune::workers
