#pragma once
// CPython's `random.Random`, bit for bit, for what lm-evaluation-harness's few-shot sampler uses:
// seeding from an int, getrandbits, _randbelow and sample (both of its branches).
//
// Transcribed from CPython 3.11 (unchanged in 3.8-3.13 for everything here):
//   Modules/_randommodule.c  init_genrand, init_by_array, random_seed (an int seed: abs(seed) cut
//                            into 32-bit words, least significant first), genrand_uint32 (MT19937),
//                            _random_Random_getrandbits_impl, _random_Random_random_impl;
//   Lib/random.py            Random._randbelow_with_getrandbits, Random.sample.
// tests/data/python_random_test.cpp checks it against the python3 on the machine, run live.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace statetune::data {

class PythonRandom {
 public:
  // random.Random(seed) for a non-negative int seed (CPython seeds with abs(seed)).
  explicit PythonRandom(uint64_t seed);

  // One MT19937 output (genrand_uint32).
  uint32_t next_uint32();
  // random.getrandbits(k) for 0 <= k <= 64 (k > 32 takes ceil(k/32) outputs, low word first).
  uint64_t getrandbits(unsigned k);
  // random.random(): a double in [0, 1) from two outputs.
  double random();
  // Random._randbelow(n) (the getrandbits flavour, which random.Random uses): uniform in [0, n)
  // by rejection of getrandbits(n.bit_length()). n > 0.
  uint64_t randbelow(uint64_t n);
  // random.sample(range(n), k): k distinct indices in [0, n), in draw order. Throws
  // statetune::Error unless k <= n.
  std::vector<size_t> sample(size_t n, size_t k);

 private:
  static constexpr int kN = 624;
  std::array<uint32_t, kN> mt_{};
  int index_ = kN;
};

// random.sample's choice of branch: true when it draws from a shrinking copy of the population
// ("pool" branch: n <= setsize, setsize = 21, plus 4**ceil(log(3k, 4)) when k > 5), false when it
// draws indices with re-draws on repeats ("set" branch).
bool python_sample_uses_pool(size_t n, size_t k);

}  // namespace statetune::data
