#pragma once
// Which pool items become an item's few-shot examples.
//
// lm-eval draws them with Python's random.Random(1234), one stream advanced item after item,
// so a draw depends on the order items are evaluated in. Ours depends only on (seed, item
// index): the same draw whatever the rank, shard or --limit, and across platforms (a
// splitmix64 stream and a partial Fisher-Yates shuffle, no std:: distributions, whose output
// is implementation-defined). The draw is not Python's, so the chosen examples differ from
// lm-eval's; the way they are rendered (prompts.h) does not.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace statetune::data {

constexpr size_t kNoExclusion = static_cast<size_t>(-1);

// k distinct indices in [0, pool_size), never `exclude` (use it when the pool is the split
// being scored), in draw order. Throws statetune::Error when the pool is too small.
std::vector<size_t> draw_fewshot(size_t pool_size, size_t k, uint64_t seed, uint64_t item_index,
                                 size_t exclude = kNoExclusion);

// The first k indices of the pool, skipping `exclude` (lm-eval's "first_n" sampler, used for
// MMLU's dev split).
std::vector<size_t> first_fewshot(size_t pool_size, size_t k, size_t exclude = kNoExclusion);

}  // namespace statetune::data
