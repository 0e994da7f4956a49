#pragma once
// Support vectors of the kernel read-out (METHOD.md §2): unit vectors c_m on the sphere of
// query directions q̂, chosen from samples of q̂ taken in a calibration pass.
// Deterministic given the seed (std::mt19937_64, the same sequence on every platform).
#include <cstdint>

#include <ATen/ATen.h>

namespace statetune::workers {

// Spherical k-means: k-means++ seeding (each next centre drawn with probability ∝ squared
// distance to the nearest chosen one), then `iters` Lloyd rounds with cosine assignment and
// renormalised means. An emptied cluster is re-seeded with the point farthest from its
// centre. X [n, N] unit rows, n >= M. Returns [M, N] unit rows, float64.
at::Tensor spherical_kmeans(const at::Tensor& X, int64_t M, int64_t iters, uint64_t seed);

// M distinct rows of X [n, N] drawn without replacement (`support: random`), float64.
at::Tensor random_support(const at::Tensor& X, int64_t M, uint64_t seed);

// The median of ‖x − c_m‖² over every sample x of X [n, N] and centre c_m of C [M, N]: the
// median heuristic's scale, gamma = gamma_scale / median.
double median_sq_distance(const at::Tensor& X, const at::Tensor& C);

}  // namespace statetune::workers
