// sample_token draws on the device and reads only the chosen token. Its reference is the
// obvious host loop it replaced (below, verbatim in substance): sort, add probabilities until
// top_p, draw u ~ U[0, mass) with std::uniform_real_distribution, walk the running sum. For
// the same generator state both must pick the same token, draw after draw.
#include <gtest/gtest.h>

#include <random>

#include "statetune/workers/generation.h"

namespace statetune::workers {
namespace {

int64_t reference_sample(const at::Tensor& logits, double temperature, double top_p, std::mt19937_64& rng) {
  at::Tensor l = logits.to(at::kDouble);
  if (temperature <= 0.0) return l.argmax().item<int64_t>();
  auto sorted = at::softmax(l / temperature, -1).sort(-1, /*descending=*/true);
  const at::Tensor p = std::get<0>(sorted).contiguous(), idx = std::get<1>(sorted).contiguous();
  const double* pp = p.data_ptr<double>();
  const int64_t V = p.numel();
  double mass = 0;
  int64_t keep = 0;
  while (keep < V && (keep == 0 || mass < top_p)) mass += pp[keep++];
  const double u = std::uniform_real_distribution<double>(0.0, mass)(rng);
  double acc = 0;
  for (int64_t i = 0; i < keep; ++i) {
    acc += pp[i];
    if (u < acc) return idx.data_ptr<int64_t>()[i];
  }
  return idx.data_ptr<int64_t>()[keep - 1];
}

TEST(SampleToken, DrawsTheSameTokensAsTheHostLoopItReplaced) {
  at::manual_seed(1);
  int64_t draws = 0, differ_from_argmax = 0;
  for (int64_t V : {1, 2, 7, 300, 5000}) {
    for (double scale : {0.1, 1.0, 4.0}) {  // flat to peaked distributions
      const at::Tensor logits = at::randn({V}, at::kFloat) * scale;
      for (double temperature : {0.0, 0.5, 1.0, 2.0}) {
        for (double top_p : {0.05, 0.5, 0.85, 1.0}) {
          std::mt19937_64 a(42), b(42);
          for (int i = 0; i < 20; ++i, ++draws) {
            const int64_t want = reference_sample(logits, temperature, top_p, a);
            const int64_t got = sample_token(logits, temperature, top_p, b);
            ASSERT_EQ(got, want) << "V " << V << " scale " << scale << " T " << temperature << " top_p " << top_p
                                 << " draw " << i;
            differ_from_argmax += got != logits.argmax().item<int64_t>();
          }
          EXPECT_EQ(a(), b()) << "the generators must advance alike";
        }
      }
    }
  }
  EXPECT_GT(differ_from_argmax, draws / 10);  // the draws are really random
}

}  // namespace
}  // namespace statetune::workers
