#include "statetune/data/fewshot.h"

#include <numeric>

#include "statetune/common/error.h"

namespace statetune::data {

namespace {

// splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed, fully specified generator.
uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, n) without modulo bias (rejection of the top partial block).
uint64_t below(uint64_t n, uint64_t& state) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = splitmix64(state);
  while (x >= limit);
  return x % n;
}

void check_pool(size_t pool_size, size_t k, size_t exclude) {
  const size_t usable = pool_size - (exclude < pool_size ? 1 : 0);
  ST_CHECK(k <= usable, "few-shot: {} examples asked for, but the pool has only {}", k, usable);
}

}  // namespace

std::vector<size_t> draw_fewshot(size_t pool_size, size_t k, uint64_t seed, uint64_t item_index, size_t exclude) {
  check_pool(pool_size, k, exclude);
  std::vector<size_t> candidates;
  candidates.reserve(pool_size);
  for (size_t i = 0; i < pool_size; ++i)
    if (i != exclude) candidates.push_back(i);
  uint64_t state = seed;
  state = splitmix64(state) ^ item_index;  // decorrelate neighbouring (seed, item) pairs
  splitmix64(state);
  for (size_t i = 0; i < k; ++i) {
    const size_t j = i + static_cast<size_t>(below(candidates.size() - i, state));
    std::swap(candidates[i], candidates[j]);
  }
  candidates.resize(k);
  return candidates;
}

std::vector<size_t> first_fewshot(size_t pool_size, size_t k, size_t exclude) {
  check_pool(pool_size, k, exclude);
  std::vector<size_t> out;
  for (size_t i = 0; i < pool_size && out.size() < k; ++i)
    if (i != exclude) out.push_back(i);
  return out;
}

}  // namespace statetune::data
