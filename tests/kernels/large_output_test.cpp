// The kernels' large-output cache: what a user of the ops relies on is that buffers are reused
// across calls of the same size, never shared between live tensors, and that the cap bounds
// the memory held idle.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <vector>

#include "statetune/kernels/large_output.h"

namespace statetune::kernels {
namespace {

// Restores the cap and empties the cache around each test, so tests see a known state.
class LargeOutputCache : public ::testing::Test {
 protected:
  void SetUp() override {
    cap_ = large_output_cache_stats().cap_bytes;
    release_large_output_cache();
  }
  void TearDown() override {
    set_large_output_cache_cap(cap_);
    release_large_output_cache();
  }
  size_t cap_ = 0;
};

constexpr int64_t kFloats = (16 << 20) / 4;  // 16 MiB of fp32

TEST_F(LargeOutputCache, SmallTensorsAreOrdinaryAllocations) {
  const auto before = large_output_cache_stats();
  at::Tensor t = empty_large_output({1024}, at::kFloat);
  EXPECT_EQ(t.sizes(), at::IntArrayRef({1024}));
  const auto after = large_output_cache_stats();
  EXPECT_EQ(after.allocated, before.allocated);
  EXPECT_EQ(after.reused, before.reused);
}

TEST_F(LargeOutputCache, AFreedBufferIsReusedForTheSameSize) {
  set_large_output_cache_cap(size_t{1} << 30);
  void* first = nullptr;
  {
    at::Tensor t = empty_large_output({kFloats}, at::kFloat);
    EXPECT_EQ(t.scalar_type(), at::kFloat);
    EXPECT_TRUE(t.is_contiguous());
    first = t.data_ptr();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % (2 << 20), 0u) << "buffers are 2 MiB aligned (huge pages)";
    t.fill_(1.0f);
  }
  EXPECT_EQ(large_output_cache_stats().idle_bytes, size_t{16} << 20);
  const int64_t reused = large_output_cache_stats().reused;
  at::Tensor again = empty_large_output({4, kFloats / 4}, at::kFloat);  // same bytes, another shape
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(again.sizes(), at::IntArrayRef({4, kFloats / 4}));
  EXPECT_EQ(large_output_cache_stats().reused, reused + 1);
  EXPECT_EQ(large_output_cache_stats().idle_bytes, 0u);
}

TEST_F(LargeOutputCache, LiveTensorsNeverShareABuffer) {
  set_large_output_cache_cap(size_t{1} << 30);
  std::vector<at::Tensor> live;
  for (int i = 0; i < 3; ++i) live.push_back(empty_large_output({kFloats}, at::kFloat).fill_(static_cast<float>(i)));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(live[i].max().item<float>(), static_cast<float>(i)) << "buffer " << i;
  EXPECT_NE(live[0].data_ptr(), live[1].data_ptr());
  EXPECT_NE(live[1].data_ptr(), live[2].data_ptr());
}

TEST_F(LargeOutputCache, TheCapBoundsIdleMemoryAndZeroTurnsReuseOff) {
  set_large_output_cache_cap(size_t{40} << 20);  // room for two 16 MiB buffers
  {
    std::vector<at::Tensor> three;
    for (int i = 0; i < 3; ++i) three.push_back(empty_large_output({kFloats}, at::kFloat));
  }
  EXPECT_EQ(large_output_cache_stats().idle_bytes, size_t{32} << 20);
  set_large_output_cache_cap(0);
  EXPECT_EQ(large_output_cache_stats().idle_bytes, 0u);
  const int64_t reused = large_output_cache_stats().reused;
  { at::Tensor t = empty_large_output({kFloats}, at::kFloat); }
  { at::Tensor t = empty_large_output({kFloats}, at::kFloat); }
  EXPECT_EQ(large_output_cache_stats().reused, reused);
  EXPECT_EQ(large_output_cache_stats().idle_bytes, 0u);
}

TEST_F(LargeOutputCache, ReleaseFreesIdleBuffersOnly) {
  set_large_output_cache_cap(size_t{1} << 30);
  at::Tensor kept = empty_large_output({kFloats}, at::kFloat).fill_(3.0f);
  { at::Tensor dropped = empty_large_output({kFloats}, at::kFloat); }
  EXPECT_EQ(large_output_cache_stats().idle_bytes, size_t{16} << 20);
  release_large_output_cache();
  EXPECT_EQ(large_output_cache_stats().idle_bytes, 0u);
  EXPECT_EQ(kept.sum().item<double>(), 3.0 * kFloats);
  kept.reset();
  EXPECT_EQ(large_output_cache_stats().idle_bytes, size_t{16} << 20) << "a live tensor's buffer returns on its death";
}

}  // namespace
}  // namespace statetune::kernels
