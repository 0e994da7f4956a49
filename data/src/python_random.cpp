// CPython's random.Random; see python_random.h for the functions transcribed and where from.
#include "statetune/data/python_random.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "statetune/common/error.h"

namespace statetune::data {

namespace {

constexpr int kM = 397;
constexpr uint32_t kMatrixA = 0x9908b0dfU;
constexpr uint32_t kUpperMask = 0x80000000U;
constexpr uint32_t kLowerMask = 0x7fffffffU;

int bit_length(uint64_t n) {
  int bits = 0;
  for (; n != 0; n >>= 1) ++bits;
  return bits;
}

}  // namespace

PythonRandom::PythonRandom(uint64_t seed) {
  // random_seed: the key is abs(seed) in 32-bit words, least significant first; 0 gives [0].
  std::vector<uint32_t> key{static_cast<uint32_t>(seed)};
  if (seed >> 32) key.push_back(static_cast<uint32_t>(seed >> 32));

  // init_genrand(19650218)
  mt_[0] = 19650218U;
  for (int i = 1; i < kN; ++i) mt_[i] = 1812433253U * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);

  // init_by_array(key)
  size_t i = 1, j = 0;
  for (size_t k = std::max(static_cast<size_t>(kN), key.size()); k; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525U)) + key[j] + static_cast<uint32_t>(j);
    ++i;
    ++j;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
    if (j >= key.size()) j = 0;
  }
  for (size_t k = kN - 1; k; --k) {
    mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941U)) - static_cast<uint32_t>(i);
    ++i;
    if (i >= kN) {
      mt_[0] = mt_[kN - 1];
      i = 1;
    }
  }
  mt_[0] = 0x80000000U;
  index_ = kN;
}

uint32_t PythonRandom::next_uint32() {
  static constexpr uint32_t mag01[2] = {0x0U, kMatrixA};
  uint32_t y;
  if (index_ >= kN) {
    int kk = 0;
    for (; kk < kN - kM; ++kk) {
      y = (mt_[kk] & kUpperMask) | (mt_[kk + 1] & kLowerMask);
      mt_[kk] = mt_[kk + kM] ^ (y >> 1) ^ mag01[y & 0x1U];
    }
    for (; kk < kN - 1; ++kk) {
      y = (mt_[kk] & kUpperMask) | (mt_[kk + 1] & kLowerMask);
      mt_[kk] = mt_[kk + (kM - kN)] ^ (y >> 1) ^ mag01[y & 0x1U];
    }
    y = (mt_[kN - 1] & kUpperMask) | (mt_[0] & kLowerMask);
    mt_[kN - 1] = mt_[kM - 1] ^ (y >> 1) ^ mag01[y & 0x1U];
    index_ = 0;
  }
  y = mt_[index_++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

uint64_t PythonRandom::getrandbits(unsigned k) {
  ST_CHECK(k <= 64, "PythonRandom::getrandbits: {} bits asked for, at most 64 supported", k);
  if (k == 0) return 0;  // consumes nothing (CPython >= 3.9)
  if (k <= 32) return next_uint32() >> (32 - k);
  const uint64_t low = next_uint32();
  const uint64_t high = next_uint32() >> (64 - k);  // the last word keeps its most significant bits
  return low | (high << 32);
}

double PythonRandom::random() {
  const uint32_t a = next_uint32() >> 5, b = next_uint32() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

uint64_t PythonRandom::randbelow(uint64_t n) {
  ST_CHECK(n > 0, "PythonRandom::randbelow: n must be positive");
  const auto k = static_cast<unsigned>(bit_length(n));  // not (n-1): n can be 1
  uint64_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return r;
}

bool python_sample_uses_pool(size_t n, size_t k) {
  uint64_t setsize = 21;  // size of a small set minus size of an empty list
  if (k > 5) {
    // 4 ** _ceil(_log(k * 3, 4)): math.log(x, 4) is log(x) / log(4) in doubles, as here.
    const double exponent = std::ceil(std::log(static_cast<double>(k) * 3.0) / std::log(4.0));
    ST_CHECK(exponent < 31, "random.sample: k = {} is too large", k);
    setsize += uint64_t{1} << (2 * static_cast<unsigned>(exponent));
  }
  return n <= setsize;
}

std::vector<size_t> PythonRandom::sample(size_t n, size_t k) {
  ST_CHECK(k <= n, "random.sample: {} asked for from a population of {} (\"Sample larger than population\")", k, n);
  std::vector<size_t> result(k);
  if (python_sample_uses_pool(n, k)) {
    // An n-length list is smaller than a k-length set. Invariant: non-selected at pool[0 : n-i].
    std::vector<size_t> pool(n);
    for (size_t i = 0; i < n; ++i) pool[i] = i;
    for (size_t i = 0; i < k; ++i) {
      const auto j = static_cast<size_t>(randbelow(n - i));
      result[i] = pool[j];
      pool[j] = pool[n - i - 1];  // move the non-selected item into the vacancy
    }
  } else {
    std::unordered_set<size_t> selected;
    for (size_t i = 0; i < k; ++i) {
      auto j = static_cast<size_t>(randbelow(n));
      while (selected.count(j)) j = static_cast<size_t>(randbelow(n));
      selected.insert(j);
      result[i] = j;
    }
  }
  return result;
}

}  // namespace statetune::data
