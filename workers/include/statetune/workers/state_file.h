#pragma once
// Tuned-state files in the RWKV-PEFT key format: "blocks.{i}.att.time_state" [H, N, N],
// row = value index (the model's own RNN-state layout). Written as .pth (or .safetensors
// by extension). Loading checks the layer count and shapes against the model.
#include <string>
#include <vector>

#include "statetune/workers/model_config.h"

namespace statetune::workers {

// One [H, N, N] float32 tensor per layer.
std::vector<at::Tensor> load_time_states(const std::string& path, const ModelConfig& config);
void save_time_states(const std::string& path, const std::vector<at::Tensor>& wkv_states);

}  // namespace statetune::workers
