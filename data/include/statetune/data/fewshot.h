#pragma once
// Which pool items become an item's few-shot examples: lm-evaluation-harness v0.4's samplers,
// draw for draw (lm_eval/api/samplers.py, ContextSampler.get_context and FirstNSampler).
//
// lm-eval gives each task one random.Random(fewshot_random_seed) (evaluator.py: seed 1234 by
// default, whatever the run's other seeds), shared by all the task's documents and advanced in
// evaluation order: document i's draw is rnd.sample(fewshot_docs, n) taken after documents
// 0..i-1 have drawn theirs. random.sample's consumption of the generator varies from draw to
// draw (rejection sampling), so a document's shots depend on every earlier document's draw:
// lm_eval_random_draws simulates the whole stream, and a caller that renders only some items
// (a shard, a --limit) takes their draws from it, never from a fresh generator.
//
// get_context draws n = num_fewshot docs, or num_fewshot + 1 when the task's fewshot_split
// equals its test_split (then the scored document may be among them), drops the docs equal
// to the scored one and keeps the first num_fewshot: lm_eval_draw_size and keep_shots.
// MMLU uses the "first_n" sampler instead: the first n docs of the subject's dev split.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace statetune::data {

// lm-eval's default few-shot seed (simple_evaluate's fewshot_random_seed).
constexpr uint64_t kLmEvalFewshotSeed = 1234;

// How many docs lm-eval draws for k shots: k + 1 when the few-shot split is the scored split
// (fewshot_split == test_split in the task config), else k.
size_t lm_eval_draw_size(size_t k, bool fewshot_split_is_test_split);

// The default sampler over a stream of num_items documents: rnd = random.Random(seed), then for
// each document in order rnd.sample(range(pool_size), n_draw). Returns every document's pool
// indices in draw order. Throws statetune::Error when n_draw > pool_size (num_items > 0).
std::vector<std::vector<size_t>> lm_eval_random_draws(size_t pool_size, size_t n_draw, uint64_t seed,
                                                      size_t num_items);

// The first_n sampler: pool indices 0..n_draw-1. Throws when n_draw > pool_size.
std::vector<size_t> first_n_draw(size_t pool_size, size_t n_draw);

// [x for x in draw if x != doc][:k]: the drawn indices whose docs are not the scored doc
// (is_scored_doc(index) says which are equal to it), the first k of them.
template <typename IsScoredDoc>
std::vector<size_t> keep_shots(const std::vector<size_t>& draw, size_t k, IsScoredDoc&& is_scored_doc) {
  std::vector<size_t> out;
  for (size_t j : draw) {
    if (out.size() == k) break;
    if (!is_scored_doc(j)) out.push_back(j);
  }
  return out;
}

}  // namespace statetune::data
