#pragma once
// The small model shape the workers tests share: fast to build and run, every dimension
// distinct from the others so a swapped axis shows up as a shape error.
#include "statetune/workers/model_config.h"

namespace statetune::testing {

inline workers::ModelConfig small_config(int64_t layers = 2, int64_t vocab = 100) {
  workers::ModelConfig c;
  c.n_layer = layers;
  c.n_embd = 64;
  c.head_size = 16;
  c.n_head = 4;
  c.vocab_size = vocab;
  c.rank_w = 8;
  c.rank_a = 8;
  c.rank_v = 4;
  c.rank_g = 16;
  return c;
}

}  // namespace statetune::testing
