#pragma once
// Seeded random RWKV-7 models in the official format, for tests and the demo. Weights are
// non-degenerate on purpose (every projection non-zero, activations O(1) through depth):
// training-style zero inits would make state tuning meaningless.
#include <cstdint>

#include "statetune/workers/model_config.h"

namespace statetune::workers {

// config.n_head is derived (n_embd / head_size); fp32 tensors with official names and shapes.
TensorMap init_random_model(const ModelConfig& config, uint64_t seed);

}  // namespace statetune::workers
