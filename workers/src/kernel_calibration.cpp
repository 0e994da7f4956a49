#include "statetune/workers/kernel_calibration.h"

#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/kernels/kernel_readout.h"
#include "statetune/workers/support_vectors.h"

namespace statetune::workers {
namespace {

// A seed per (purpose, layer, head) so that changing M or the layer count does not shift the
// random draws of the other layers (splitmix64 finaliser).
uint64_t mix_seed(uint64_t seed, uint64_t purpose, uint64_t layer, uint64_t head) {
  uint64_t x = seed ^ (purpose * 0x9E3779B97F4A7C15ull) ^ (layer << 32) ^ (head << 16);
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

KernelCalibration calibrate_kernel_readout(const Rwkv7Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                           const ModelState* initial, const KernelCalibrationOptions& o) {
  ST_CHECK(!prompts.empty(), "kernel calibration: no training prompts to calibrate on");
  ST_CHECK(o.M >= 1, "kernel calibration: M must be >= 1, got {}", o.M);
  ST_CHECK(o.gamma > 0 || o.gamma_scale > 0, "kernel calibration: gamma or gamma_scale must be > 0");
  const ModelConfig& c = model.config();
  const int64_t L = c.n_layer, H = c.n_head, N = c.head_size;
  // Unit query directions per (layer, head).
  std::vector<std::vector<std::vector<at::Tensor>>> dirs(L, std::vector<std::vector<at::Tensor>>(H));
  {
    at::NoGradGuard no_grad;
    for (size_t start = 0; start < prompts.size(); start += static_cast<size_t>(o.batch)) {
      const size_t end = std::min(prompts.size(), start + static_cast<size_t>(o.batch));
      int64_t T = 0;
      for (size_t i = start; i < end; ++i) T = std::max<int64_t>(T, static_cast<int64_t>(prompts[i].size()));
      ST_CHECK(T >= 1, "kernel calibration: prompt {} is empty", start);
      at::Tensor tokens = at::zeros({static_cast<int64_t>(end - start), T}, at::kLong);
      at::Tensor lengths = at::empty({static_cast<int64_t>(end - start)}, at::kLong);
      for (size_t i = start; i < end; ++i) {
        const auto& p = prompts[i];
        ST_CHECK(!p.empty(), "kernel calibration: prompt {} is empty", i);
        tokens[static_cast<int64_t>(i - start)].narrow(0, 0, static_cast<int64_t>(p.size()))
            .copy_(at::tensor(p, at::kLong));
        lengths[static_cast<int64_t>(i - start)] = static_cast<int64_t>(p.size());
      }
      ForwardTrace trace;
      trace.collect_queries = true;
      model.forward(tokens, lengths, initial, nullptr, &trace);
      const at::Tensor real = trace.mask.reshape({-1});
      for (int64_t l = 0; l < L; ++l) {
        const at::Tensor q = trace.queries[l].to(at::kDouble).reshape({-1, H, N}).index({real});  // [n, H, N]
        for (int64_t h = 0; h < H; ++h) {
          const at::Tensor qh = q.select(1, h);
          const at::Tensor norm = qh.norm(2, 1);
          const at::Tensor keep = norm > kernels::kKernelReadoutEps;
          dirs[l][h].push_back(qh.index({keep}) / norm.index({keep}).unsqueeze(1));
        }
      }
    }
  }
  KernelCalibration out;
  out.median_sq_distance.assign(L, std::vector<double>(H));
  const auto opts = model.state_options();
  for (int64_t l = 0; l < L; ++l) {
    std::vector<at::Tensor> support(H);
    at::Tensor gamma = at::empty({H}, at::kDouble);
    for (int64_t h = 0; h < H; ++h) {
      at::Tensor X = at::cat(dirs[l][h], 0);
      if (X.size(0) > o.max_samples) X = random_support(X, o.max_samples, mix_seed(o.seed, 1, l, h));
      ST_CHECK(X.size(0) >= o.M,
               "kernel calibration: layer {} head {} gave {} query directions from {} prompts, fewer than M = {} "
               "(raise calibration_examples or lower M)",
               l, h, X.size(0), prompts.size(), o.M);
      out.samples = X.size(0);
      support[h] = o.kmeans ? spherical_kmeans(X, o.M, o.kmeans_iters, mix_seed(o.seed, 2, l, h))
                            : random_support(X, o.M, mix_seed(o.seed, 2, l, h));
      const double median = median_sq_distance(X, support[h]);
      out.median_sq_distance[l][h] = median;
      gamma[h] = o.gamma > 0 ? o.gamma : o.gamma_scale / std::max(median, 1e-12);
    }
    out.buffers.support.push_back(at::stack(support).to(opts));
    out.buffers.gamma.push_back(gamma.to(opts));
    at::Generator gen = at::detail::createCPUGenerator(mix_seed(o.seed, 3, l, 0));
    // Drawn on the host from a seeded generator, so Q is the same whatever the device.
    out.buffers.Q.push_back(at::randn({H, N, o.M}, gen, at::kDouble).div_(std::sqrt(static_cast<double>(o.M))).to(opts));
  }
  return out;
}

}  // namespace statetune::workers
