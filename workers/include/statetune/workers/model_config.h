#pragma once
// The shape of an RWKV-7 (x070) model. Every number is read from the checkpoint.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "statetune/workers/tensor_map.h"

namespace statetune::workers {

struct ModelConfig {
  int64_t n_layer = 0;
  int64_t n_embd = 0;     // C
  int64_t head_size = 0;  // N, read from att.r_k [H, N]
  int64_t n_head = 0;     // H = C / N
  int64_t vocab_size = 0;
  int64_t rank_w = 0, rank_a = 0, rank_v = 0, rank_g = 0;  // LoRA ranks (Dw, Da, Dv, Dg)
};

// Reads L, C, N, H, V and the LoRA ranks from an official-named TensorMap, then checks that
// every key the model needs is present with the expected shape, and that the dtype is a
// float type. Errors name `source` (the file), the key and the expected vs found shape.
ModelConfig infer_model_config(const TensorMap& weights, const std::string& source);

// The exact list of keys and shapes an official checkpoint of this config holds. Validates the
// config first (all dims > 0, n_embd a multiple of head_size, n_head 0 or n_embd / head_size).
std::map<std::string, std::vector<int64_t>> expected_shapes(const ModelConfig& config);

}  // namespace statetune::workers
