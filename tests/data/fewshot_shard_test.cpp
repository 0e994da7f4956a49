// Few-shot draws and sharding: deterministic, and each property a run relies on.
#include <algorithm>
#include <fstream>
#include <numeric>
#include <set>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "statetune/data/benchmark.h"
#include "statetune/data/fewshot.h"
#include "statetune/data/python_random.h"
#include "statetune/data/shard.h"
#include "test_paths.h"

namespace {

using namespace statetune::data;

TEST(Fewshot, OneStreamPerBenchmarkAdvancedItemAfterItem) {
  const auto a = lm_eval_random_draws(200, 5, 1234, 100);
  ASSERT_EQ(a.size(), 100u);
  EXPECT_EQ(a, lm_eval_random_draws(200, 5, 1234, 100));
  EXPECT_NE(a, lm_eval_random_draws(200, 5, 1235, 100));
  for (const auto& d : a) {
    EXPECT_EQ(std::set<size_t>(d.begin(), d.end()).size(), 5u);  // distinct
    for (size_t i : d) EXPECT_LT(i, 200u);
  }
  // Item i's draw follows items 0..i-1's on the same generator: not a fresh Random(1234) each.
  EXPECT_EQ(a[0], PythonRandom(1234).sample(200, 5));
  EXPECT_NE(a[1], PythonRandom(1234).sample(200, 5));
  // Pinned values (CPython 3.11: r = random.Random(1234); [r.sample(range(200), 5) for _ in
  // range(2)]): a reported number depends on the draw, so a change must be deliberate.
  EXPECT_EQ(a[0], (std::vector<size_t>{199, 112, 29, 1, 23}));
  EXPECT_EQ(a[1], (std::vector<size_t>{149, 8, 171, 177, 21}));
  // --limit N is lm-eval's islice: the first N items of the same stream.
  const auto first40 = lm_eval_random_draws(200, 5, 1234, 40);
  EXPECT_EQ(first40, std::vector<std::vector<size_t>>(a.begin(), a.begin() + 40));
  EXPECT_EQ(lm_eval_random_draws(200, 0, 1234, 3), std::vector<std::vector<size_t>>(3));
  statetune::testing::expect_error([] { lm_eval_random_draws(5, 6, 1, 1); },
                                   "few-shot: 6 examples drawn per item, but the pool has only 5");
}

TEST(Fewshot, DrawSizeAndKeepShotsFollowGetContext) {
  EXPECT_EQ(lm_eval_draw_size(5, false), 5u);
  EXPECT_EQ(lm_eval_draw_size(5, true), 6u);  // the scored doc may be among them
  EXPECT_EQ(lm_eval_draw_size(0, true), 0u);  // zero-shot draws nothing
  // [x for x in draw if x != doc][:k]
  const std::vector<size_t> draw{7, 3, 9, 4, 1, 8};
  EXPECT_EQ(keep_shots(draw, 5, [](size_t j) { return j == 9; }), (std::vector<size_t>{7, 3, 4, 1, 8}));
  EXPECT_EQ(keep_shots(draw, 5, [](size_t) { return false; }), (std::vector<size_t>{7, 3, 9, 4, 1}));
  EXPECT_EQ(keep_shots(std::vector<size_t>{2, 5}, 2, [](size_t j) { return j == 5; }), (std::vector<size_t>{2}));
}

TEST(Fewshot, FirstNKeepsFileOrder) {
  EXPECT_EQ(first_n_draw(5, 5), (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(first_n_draw(6, 3), (std::vector<size_t>{0, 1, 2}));
  statetune::testing::expect_error([] { first_n_draw(4, 5); }, "few-shot: 5 examples drawn per item, but the pool has only 4");
}

// What sharded evaluation relies on: every rank renders the whole stream (load_benchmark) and
// evaluates its share, so an item's prompt is the same on every rank and in a one-process run;
// and a shorter eval file (lm-eval's --limit) gives its items the same prompts as the full one.
TEST(Fewshot, ShardedAndLimitedPromptsEqualTheSingleProcessStream) {
  SHARED_OR_SKIP(eval, "data/benchmarks/winogrande/eval.jsonl");
  SHARED_OR_SKIP(train, "data/benchmarks/winogrande/train.jsonl");
  BenchmarkOptions options;
  options.num_fewshot = 5;
  const RenderedBenchmark full = load_benchmark(Benchmark::winogrande, eval, options);
  ASSERT_EQ(full.mc.size(), 100u);
  for (ShardMode mode : {ShardMode::contiguous, ShardMode::strided}) {
    for (int world : {2, 3, 4}) {
      std::vector<std::string> gathered(full.mc.size());
      for (int rank = 0; rank < world; ++rank) {
        const RenderedBenchmark mine = load_benchmark(Benchmark::winogrande, eval, options);  // as each rank does
        for (size_t i : shard_indices(mine.mc.size(), rank, world, mode)) gathered[i] = mine.mc[i].contexts[0];
      }
      for (size_t i = 0; i < full.mc.size(); ++i) EXPECT_EQ(gathered[i], full.mc[i].contexts[0]) << i;
    }
  }
  // The first 37 items alone, pool beside them as before.
  const std::string dir = statetune::testing::temp_dir("fewshot_limit");
  {
    std::ifstream in(eval);
    std::ofstream out(dir + "/eval.jsonl");
    std::string line;
    for (int n = 0; n < 37 && std::getline(in, line); ++n) out << line << "\n";
    std::ifstream pool(train, std::ios::binary);
    std::ofstream(dir + "/train.jsonl", std::ios::binary) << pool.rdbuf();
  }
  const RenderedBenchmark limited = load_benchmark(Benchmark::winogrande, dir + "/eval.jsonl", options);
  ASSERT_EQ(limited.mc.size(), 37u);
  for (size_t i = 0; i < 37; ++i) EXPECT_EQ(limited.mc[i].contexts, full.mc[i].contexts) << i;
}

TEST(Shard, ContiguousAndStridedPartitionEveryItemOnce) {
  for (ShardMode mode : {ShardMode::contiguous, ShardMode::strided}) {
    for (size_t n : {0u, 1u, 7u, 100u}) {
      for (int world : {1, 3, 4}) {
        std::vector<size_t> all;
        size_t smallest = n, largest = 0;
        for (int rank = 0; rank < world; ++rank) {
          const auto part = shard_indices(n, rank, world, mode);
          all.insert(all.end(), part.begin(), part.end());
          smallest = std::min(smallest, part.size());
          largest = std::max(largest, part.size());
        }
        std::sort(all.begin(), all.end());
        std::vector<size_t> expected(n);
        std::iota(expected.begin(), expected.end(), 0);
        EXPECT_EQ(all, expected);
        EXPECT_LE(largest - std::min(smallest, largest), 1u);  // balanced
      }
    }
  }
  EXPECT_EQ(shard_indices(7, 0, 3), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(shard_indices(7, 2, 3), (std::vector<size_t>{5, 6}));
  EXPECT_EQ(shard_indices(7, 1, 3, ShardMode::strided), (std::vector<size_t>{1, 4}));
  EXPECT_EQ(shard(std::vector<std::string>{"a", "b", "c"}, 1, 2), (std::vector<std::string>{"c"}));
  statetune::testing::expect_error([] { shard_indices(5, 2, 2); }, "shard: rank 2 is not in [0, world = 2)");
}

}  // namespace
