#include "statetune/workers/support_vectors.h"

#include <algorithm>
#include <random>
#include <vector>

#include "statetune/common/error.h"

namespace statetune::workers {
namespace {

// Squared distances of unit rows from unit rows: ‖x − c‖² = 2 − 2 x·c, [n, M].
at::Tensor sq_dist_unit(const at::Tensor& X, const at::Tensor& C) {
  return (2 - 2 * X.matmul(C.t())).clamp_min(0);
}

// A double in [0, 1) from the generator: 53 random bits, the same on every standard library
// (std::uniform_real_distribution is not specified bit-for-bit).
double uniform01(std::mt19937_64& gen) { return static_cast<double>(gen() >> 11) * 0x1.0p-53; }

void check_samples(const at::Tensor& X, int64_t M, const char* what) {
  ST_CHECK(X.dim() == 2, "{}: samples must be [n, N]", what);
  ST_CHECK(M >= 1 && X.size(0) >= M,
           "{}: {} query directions sampled, fewer than M = {} support vectors (raise calibration_examples "
           "or lower M)",
           what, X.size(0), M);
}

}  // namespace

at::Tensor spherical_kmeans(const at::Tensor& X_in, int64_t M, int64_t iters, uint64_t seed) {
  check_samples(X_in, M, "spherical k-means");
  const at::Tensor X = X_in.to(at::kDouble).contiguous();
  const int64_t n = X.size(0);
  std::mt19937_64 gen(seed);
  // k-means++ seeding.
  std::vector<int64_t> chosen{static_cast<int64_t>(gen() % static_cast<uint64_t>(n))};
  at::Tensor nearest = sq_dist_unit(X, X[chosen[0]].unsqueeze(0)).squeeze(1);  // [n]
  while (static_cast<int64_t>(chosen.size()) < M) {
    const double total = nearest.sum().item<double>();
    int64_t pick = -1;
    if (total > 0) {
      const double target = uniform01(gen) * total;
      const at::Tensor cum = nearest.cumsum(0);
      pick = std::min<int64_t>(at::searchsorted(cum, at::scalar_tensor(target, cum.options()), false, true)
                                   .item<int64_t>(),
                               n - 1);
      while (pick > 0 && nearest[pick].item<double>() == 0) --pick;  // never a point already chosen
    }
    if (pick < 0 || nearest[pick].item<double>() == 0) {
      pick = static_cast<int64_t>(gen() % static_cast<uint64_t>(n));  // all remaining points coincide
    }
    chosen.push_back(pick);
    nearest = at::minimum(nearest, sq_dist_unit(X, X[pick].unsqueeze(0)).squeeze(1));
  }
  at::Tensor C = X.index({at::tensor(chosen, at::kLong).to(X.device())}).clone();
  // Lloyd rounds on the sphere.
  for (int64_t it = 0; it < iters; ++it) {
    const at::Tensor sim = X.matmul(C.t());  // [n, M]
    const auto [best, assign] = sim.max(1);
    at::Tensor sums = at::zeros_like(C).index_add_(0, assign, X);
    const at::Tensor counts = at::bincount(assign, {}, M);
    at::Tensor norms = sums.norm(2, 1, true);
    const at::Tensor empty = (counts == 0) | (norms.squeeze(1) <= 1e-12);
    if (empty.any().item<bool>()) {
      // Re-seed each empty cluster with the worst-served point, one at a time.
      at::Tensor gap = 1 - best;
      const at::Tensor empties = empty.nonzero().view({-1});
      for (int64_t e = 0; e < empties.size(0); ++e) {
        const int64_t far = gap.argmax().item<int64_t>();
        sums[empties[e].item<int64_t>()] = X[far];
        gap[far] = -1;
      }
      norms = sums.norm(2, 1, true);
    }
    C = sums / norms.clamp_min(1e-300);
  }
  return C;
}

at::Tensor random_support(const at::Tensor& X, int64_t M, uint64_t seed) {
  check_samples(X, M, "random support vectors");
  const int64_t n = X.size(0);
  std::vector<int64_t> index(n);
  for (int64_t i = 0; i < n; ++i) index[i] = i;
  std::mt19937_64 gen(seed);
  for (int64_t i = 0; i < M; ++i) {  // partial Fisher-Yates
    const int64_t j = i + static_cast<int64_t>(gen() % static_cast<uint64_t>(n - i));
    std::swap(index[i], index[j]);
  }
  index.resize(M);
  return X.to(at::kDouble).index({at::tensor(index, at::kLong).to(X.device())}).clone();
}

double median_sq_distance(const at::Tensor& X, const at::Tensor& C) {
  const at::Tensor x = X.to(at::kDouble), c = C.to(at::kDouble);
  const at::Tensor d = (x.square().sum(1, true) + c.square().sum(1).unsqueeze(0) - 2 * x.matmul(c.t())).clamp_min(0);
  // The lower median, as torch.median: element (numel - 1) / 2 of the sorted values.
  const at::Tensor flat = std::get<0>(d.flatten().sort());
  return flat[(flat.numel() - 1) / 2].item<double>();
}

}  // namespace statetune::workers
