#pragma once
// Tuned-state files in the RWKV-PEFT key format: "blocks.{i}.att.time_state" [H, N, N],
// row = value index (the model's own RNN-state layout). Written as .pth (or .safetensors
// by extension). Loading checks the layer count and shapes against the model.
//
// The same file carries the other tuned parts, under keys other runtimes ignore:
//   blocks.{i}.att.shift_state, blocks.{i}.ffn.shift_state   [C]      (`shift: tune`)
//   blocks.{i}.att.kernel_state    Ŝ [H, M, M]                        (`kernel`, `dbp`)
//   blocks.{i}.att.kernel_support  C [H, M, N]   support vectors
//   blocks.{i}.att.kernel_gamma      [H]
//   blocks.{i}.att.kernel_q        Q [H, N, M]
//   blocks.{i}.att.kernel_r        R [H, M, M]   (identity for `kernel`)
// so a state file alone reproduces the tuned read-out `S0·q + Q·Ŝ·R·φ(q)`.
#include <string>
#include <vector>

#include "statetune/workers/model_config.h"
#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/tensor_map.h"

namespace statetune::workers {

// One [H, N, N] float32 tensor per layer.
std::vector<at::Tensor> load_time_states(const std::string& path, const ModelConfig& config);
void save_time_states(const std::string& path, const std::vector<at::Tensor>& wkv_states);

// The whole tuned state: every layer's WKV S0, and the shift states and kernel read-out when
// the file has them (all of a layer's kernel keys or none; every layer alike). Tensors are
// unbatched, made with `options` (a model's state_options(): its state dtype on its device).
// State files are device-independent: a state tuned on a GPU loads on the CPU and the reverse.
ModelState load_state_file(const std::string& path, const ModelConfig& config,
                           const at::TensorOptions& options = at::kFloat);
// Writes an unbatched ModelState (float32; WKV parts undefined are written as zeros).
void save_state_file(const std::string& path, const ModelState& state, const ModelConfig& config);

// The same, to and from tensors in memory (tuning checkpoints embed a state). `path` names
// the source in errors. keep_dtype: keep each tensor's dtype instead of float32.
TensorMap state_tensor_map(const ModelState& state, const ModelConfig& config, const std::string& path,
                           bool keep_dtype = false);
ModelState state_from_tensor_map(const TensorMap& tensors, const std::string& path, const ModelConfig& config,
                                 const at::TensorOptions& options = at::kFloat);
std::vector<at::Tensor> time_states_from_map(const TensorMap& tensors, const std::string& path,
                                             const ModelConfig& config);

}  // namespace statetune::workers
