// DBP's decorrelation rule (kernels/dbp.h): fast path against the loop reference, the clip,
// and the property it exists for: repeated updates decorrelate z = R·x.
#include <gtest/gtest.h>

#include "statetune/kernels/dbp.h"

namespace statetune::kernels {
namespace {

// x = A·g with g white: strongly correlated features (M = 6), n samples [n, M].
at::Tensor correlated_samples(int64_t n, int64_t M, uint64_t seed) {
  at::manual_seed(seed);
  at::Tensor mix = at::eye(M, at::kDouble) + 0.8 * at::ones({M, M}, at::kDouble) + 0.1 * at::randn({M, M}, at::kDouble);
  return at::randn({n, M}, at::kDouble).matmul(mix.t());
}

TEST(Dbp, FastPathMatchesTheReference) {
  at::manual_seed(1);
  const at::Tensor z = at::randn({2, 5, 3, 7}, at::kDouble);
  const at::Tensor mask = at::rand({2, 5}) > 0.3;
  const at::Tensor ref_sum = dbp_second_moment_sum_ref(z, mask);
  EXPECT_TRUE(at::allclose(dbp_second_moment_sum_cpu(z, mask), ref_sum, 1e-12, 1e-12));
  const at::Tensor X = ref_sum / mask.sum().item<double>();
  const at::Tensor R = at::eye(7, at::kDouble).expand({3, 7, 7}) + 0.05 * at::randn({3, 7, 7}, at::kDouble);
  for (double clip : {0.0, 0.1, 1e-3}) {
    DbpOptions o;
    o.lambda = 0.7;
    o.max_rel_step = clip;
    const DbpStep a = dbp_update_ref(R, X, o), b = dbp_update_cpu(R, X, o);
    EXPECT_TRUE(at::allclose(a.R, b.R, 1e-12, 1e-12)) << "clip " << clip;
    EXPECT_TRUE(at::allclose(a.l_decor, b.l_decor, 1e-12, 1e-12));
    EXPECT_TRUE(at::allclose(a.scale, b.scale, 1e-12, 1e-12));
  }
}

TEST(Dbp, MatchesTheRuleWrittenOutForOneHead) {
  // M = 2, kappa = 0.5: C = [[0, c], [c, 0]], v = diag - 1; checks every term's coefficient.
  const at::Tensor X = at::tensor({2.0, 0.5, 0.5, 3.0}, at::kDouble).view({1, 2, 2});
  const at::Tensor R = at::eye(2, at::kDouble).unsqueeze(0);
  DbpOptions o;
  o.lambda = 0.1;
  o.kappa = 0.5;
  o.max_rel_step = 0;
  const DbpStep s = dbp_update_cpu(R, X, o);
  // ΔR = 0.1 [0.5/1 · C + 2·0.5·diag(1, 2)] = [[0.1, 0.025], [0.025, 0.2]].
  const at::Tensor expected = at::tensor({0.9, -0.025, -0.025, 0.8}, at::kDouble).view({1, 2, 2});
  EXPECT_TRUE(at::allclose(s.R, expected, 0, 1e-15)) << s.R;
  // L_decor = [0.5 · (0.25 + 0.25) + 0.5 · (1 + 4)] / 2 = 1.375.
  EXPECT_NEAR(s.l_decor.item<double>(), 1.375, 1e-15);
}

TEST(Dbp, ClipBoundsTheRelativeStep) {
  const at::Tensor x = correlated_samples(400, 6, 3);
  const at::Tensor X = (x.t().matmul(x) / 400).unsqueeze(0);
  const at::Tensor R = at::eye(6, at::kDouble).unsqueeze(0);
  DbpOptions o;
  o.lambda = 1000;
  o.max_rel_step = 0.1;
  const DbpStep s = dbp_update_cpu(R, X, o);
  EXPECT_LT(s.scale.item<double>(), 1.0);
  EXPECT_NEAR((s.R - R).norm().item<double>() / R.norm().item<double>(), 0.1, 1e-12);
}

TEST(Dbp, LambdaZeroLeavesRUnchanged) {
  const at::Tensor x = correlated_samples(100, 4, 4);
  const at::Tensor X = (x.t().matmul(x) / 100).unsqueeze(0);
  const at::Tensor R = at::eye(4, at::kDouble).unsqueeze(0) * 1.5;
  DbpOptions o;
  o.lambda = 0;
  EXPECT_TRUE(at::equal(dbp_update_cpu(R, X, o).R, R));
  EXPECT_TRUE(at::equal(dbp_update_ref(R, X, o).R, R));
}

TEST(Dbp, RepeatedUpdatesDecorrelateZ) {
  const int64_t M = 6, n = 2000;
  const at::Tensor x = correlated_samples(n, M, 5);
  at::Tensor R = at::eye(M, at::kDouble).unsqueeze(0);
  DbpOptions o;
  o.lambda = 1.0;
  double first = 0, last = 0, first_loss = 0, last_loss = 0;
  for (int step = 0; step < 200; ++step) {
    const at::Tensor z = x.matmul(R[0].t());  // z = R x per sample
    const at::Tensor X = (z.t().matmul(z) / n).unsqueeze(0);
    const double corr = mean_abs_offdiag_correlation(X).item<double>();
    const DbpStep s = dbp_update_cpu(R, X, o);
    if (step == 0) first = corr, first_loss = s.l_decor.item<double>();
    last = corr;
    last_loss = s.l_decor.item<double>();
    R = s.R;
  }
  EXPECT_GT(first, 0.8);  // the synthetic features start strongly correlated
  EXPECT_LT(last, 0.1) << "from " << first;
  EXPECT_LT(last_loss, 0.01 * first_loss);
}

}  // namespace
}  // namespace statetune::kernels
