#include "statetune/data/shard.h"

namespace statetune::data {

std::vector<size_t> shard_indices(size_t count, int rank, int world, ShardMode mode) {
  ST_CHECK(world >= 1 && rank >= 0 && rank < world, "shard: rank {} is not in [0, world = {})", rank, world);
  const auto r = static_cast<size_t>(rank), w = static_cast<size_t>(world);
  std::vector<size_t> out;
  if (mode == ShardMode::strided) {
    for (size_t i = r; i < count; i += w) out.push_back(i);
    return out;
  }
  const size_t base = count / w, extra = count % w;
  const size_t begin = r * base + (r < extra ? r : extra);
  const size_t size = base + (r < extra ? 1 : 0);
  for (size_t i = begin; i < begin + size; ++i) out.push_back(i);
  return out;
}

}  // namespace statetune::data
