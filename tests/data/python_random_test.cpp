// PythonRandom against CPython itself, run live: the python3 on the machine draws the same
// streams (getrandbits of 1..64 bits, _randbelow, random(), consecutive random.sample calls on
// one generator, both of sample's branches) and the two must agree number for number.
#include "statetune/data/python_random.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "expect_error.h"
#include "test_paths.h"

namespace {

using namespace statetune::data;
using nlohmann::json;

// Seeds around the 32-bit word boundaries of CPython's init_by_array key.
const std::vector<uint64_t> kSeeds = {0,           1,          42,         1234,
                                      0xFFFFFFFFu, 1ull << 32, (1ull << 40) + 12345, ~0ull};
const std::vector<unsigned> kBits = {0, 1, 2, 5, 8, 16, 31, 32, 33, 40, 48, 53, 63, 64};
const std::vector<uint64_t> kBelow = {1, 2, 3, 5, 7, 100, 200, 255, 256, 257, 1000, 65537, (1ull << 31) + 1,
                                      (1ull << 32) - 1, 1ull << 32, (1ull << 33) + 7, (1ull << 63) + 11};
// (n, k) drawn one after the other from one generator: "pool" cases (n <= setsize: 21, or 21 +
// 4**ceil(log(3k, 4)) for k > 5), "set" cases (n larger), and their boundaries.
const std::vector<std::pair<size_t, size_t>> kSamples = {
    {1, 1},    {5, 0},    {21, 5},    {22, 5},    {200, 5},   {200, 6},   {85, 6},    {86, 6},   {200, 25},
    {277, 25}, {278, 25}, {300, 25},  {10, 10},   {40398, 6}, {1000, 40}, {1000, 41}, {6, 6},    {1172, 25},
    {200, 5},  {200, 5},  {200, 6},   {200, 26},  {7473, 5},  {2000, 50}, {3, 2},     {100, 99}, {30, 1}};

constexpr const char* kScript = R"PY(
import json, random, sys
cfg = json.load(sys.stdin)
out = {}
for seed in cfg["seeds"]:
    rec = {}
    r = random.Random(seed); rec["u32"] = [r.getrandbits(32) for _ in range(1300)]  # past 2 regenerations
    r = random.Random(seed); rec["bits"] = [r.getrandbits(k) for _ in range(5) for k in cfg["bits"]]
    r = random.Random(seed); rec["below"] = [r._randbelow(n) for _ in range(3) for n in cfg["below"]]
    r = random.Random(seed); rec["random"] = [repr(r.random()) for _ in range(20)]
    r = random.Random(seed); rec["samples"] = [r.sample(range(n), k) for n, k in cfg["samples"]]
    out[str(seed)] = rec
json.dump(out, sys.stdout)
)PY";

// Runs python3 on the script with `input` on stdin; "" when python3 cannot be run.
std::string run_python(const std::string& input) {
  const std::string dir = statetune::testing::temp_dir("python_random");
  std::ofstream(dir + "/script.py") << kScript;
  std::ofstream(dir + "/input.json") << input;
  const std::string command = "python3 " + dir + "/script.py < " + dir + "/input.json 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
  return pclose(pipe) == 0 ? out : "";
}

TEST(PythonRandom, MatchesCPythonRunLive) {
  const json input = {{"seeds", kSeeds}, {"bits", kBits}, {"below", kBelow}, {"samples", kSamples}};
  const std::string text = run_python(input.dump());
  if (text.empty()) GTEST_SKIP() << "SKIPPED LOUDLY: could not run python3 (needed to check PythonRandom against CPython)";
  const json expected = json::parse(text);
  for (uint64_t seed : kSeeds) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const json& e = expected.at(std::to_string(seed));
    {
      PythonRandom r(seed);
      std::vector<uint64_t> got;
      for (size_t i = 0; i < 1300; ++i) got.push_back(r.getrandbits(32));
      EXPECT_EQ(got, e.at("u32").get<std::vector<uint64_t>>());
    }
    {
      PythonRandom r(seed);
      std::vector<uint64_t> got;
      for (int rep = 0; rep < 5; ++rep)
        for (unsigned k : kBits) got.push_back(r.getrandbits(k));
      EXPECT_EQ(got, e.at("bits").get<std::vector<uint64_t>>());
    }
    {
      PythonRandom r(seed);
      std::vector<uint64_t> got;
      for (int rep = 0; rep < 3; ++rep)
        for (uint64_t n : kBelow) got.push_back(r.randbelow(n));
      EXPECT_EQ(got, e.at("below").get<std::vector<uint64_t>>());
    }
    {
      PythonRandom r(seed);
      for (const json& repr : e.at("random")) EXPECT_EQ(r.random(), std::strtod(repr.get<std::string>().c_str(), nullptr));
    }
    {
      PythonRandom r(seed);
      const json& samples = e.at("samples");
      ASSERT_EQ(samples.size(), kSamples.size());
      for (size_t i = 0; i < kSamples.size(); ++i)
        EXPECT_EQ(r.sample(kSamples[i].first, kSamples[i].second), samples[i].get<std::vector<size_t>>())
            << "sample(range(" << kSamples[i].first << "), " << kSamples[i].second << ")";
    }
  }
}

TEST(PythonRandom, SampleBranchesAndErrors) {
  EXPECT_TRUE(python_sample_uses_pool(21, 5));
  EXPECT_FALSE(python_sample_uses_pool(22, 5));
  EXPECT_TRUE(python_sample_uses_pool(85, 6));   // 21 + 4**ceil(log4(18)) = 85
  EXPECT_FALSE(python_sample_uses_pool(86, 6));
  EXPECT_TRUE(python_sample_uses_pool(277, 25));  // 21 + 4**4: lm-eval's 25-shot ARC from 200 train items
  EXPECT_FALSE(python_sample_uses_pool(278, 25));
  PythonRandom r(1);
  statetune::testing::expect_error([&] { r.sample(3, 4); }, "random.sample: 4 asked for from a population of 3");
  statetune::testing::expect_error([&] { r.getrandbits(65); }, "at most 64 supported");
}

}  // namespace
