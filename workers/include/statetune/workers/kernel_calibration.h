#pragma once
// The calibration pass of the kernel methods (METHOD.md §2): the frozen model reads training
// prompts from the initial state; each layer's transported queries q_t give, per head, the
// support vectors (spherical k-means or random samples of q̂_t) and the median heuristic's
// gamma. Q is drawn here too (seeded Gaussian N(0, 1/M)).
//
// Every rank calibrates on the same prompts (the first `calibration_examples` of the full
// training set, not its shard), so the buffers are identical everywhere without a reduction.
#include <cstdint>
#include <vector>

#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/tuned_state.h"

namespace statetune::workers {

struct KernelCalibrationOptions {
  int64_t M = 128;
  bool kmeans = true;           // false: `support: random`
  int64_t kmeans_iters = 20;
  double gamma = 0;             // > 0: absolute gamma; otherwise gamma_scale / median
  double gamma_scale = 1.0;
  uint64_t seed = 0;
  int64_t max_samples = 4096;   // q̂ samples kept per (layer, head), drawn evenly at random
  int64_t batch = 8;            // prompts per forward pass
};

struct KernelCalibration {
  KernelBuffers buffers;
  std::vector<std::vector<double>> median_sq_distance;  // [layer][head], of the samples kept
  int64_t samples = 0;                                   // q̂ samples per (layer, head) used
};

// prompts: token sequences (each starting with token 0). initial: the state to read them
// from (the method's starting state), or nullptr for zeros.
KernelCalibration calibrate_kernel_readout(const Rwkv7Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const ModelState* initial, const KernelCalibrationOptions& options);

}  // namespace statetune::workers
