#include "statetune/data/fewshot.h"

#include "statetune/common/error.h"
#include "statetune/data/python_random.h"

namespace statetune::data {

size_t lm_eval_draw_size(size_t k, bool fewshot_split_is_test_split) {
  return k > 0 && fewshot_split_is_test_split ? k + 1 : k;
}

std::vector<std::vector<size_t>> lm_eval_random_draws(size_t pool_size, size_t n_draw, uint64_t seed,
                                                      size_t num_items) {
  std::vector<std::vector<size_t>> out;
  if (num_items == 0 || n_draw == 0) return std::vector<std::vector<size_t>>(num_items);
  ST_CHECK(n_draw <= pool_size, "few-shot: {} examples drawn per item, but the pool has only {}", n_draw, pool_size);
  out.reserve(num_items);
  PythonRandom rnd(seed);
  for (size_t i = 0; i < num_items; ++i) out.push_back(rnd.sample(pool_size, n_draw));
  return out;
}

std::vector<size_t> first_n_draw(size_t pool_size, size_t n_draw) {
  ST_CHECK(n_draw <= pool_size, "few-shot: {} examples drawn per item, but the pool has only {}", n_draw, pool_size);
  std::vector<size_t> out(n_draw);
  for (size_t i = 0; i < n_draw; ++i) out[i] = i;
  return out;
}

}  // namespace statetune::data
