#pragma once
// Deterministic sharding of examples across data-parallel ranks: every item goes to exactly
// one rank, and the split depends only on (count, rank, world).
//   contiguous: rank r gets one block; the first (n % world) ranks get one item more, so
//               block sizes differ by at most one (keeps file order within a rank);
//   strided:    rank r gets items r, r + world, r + 2·world, ... (balances items whose cost
//               grows along the file).
#include <cstddef>
#include <vector>

#include "statetune/common/error.h"

namespace statetune::data {

enum class ShardMode { contiguous, strided };

// The indices of rank `rank`'s items, ascending. Throws unless 0 <= rank < world.
std::vector<size_t> shard_indices(size_t count, int rank, int world, ShardMode mode = ShardMode::contiguous);

template <typename Item>
std::vector<Item> shard(const std::vector<Item>& items, int rank, int world, ShardMode mode = ShardMode::contiguous) {
  std::vector<Item> out;
  for (size_t i : shard_indices(items.size(), rank, world, mode)) out.push_back(items[i]);
  return out;
}

}  // namespace statetune::data
