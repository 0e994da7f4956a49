// WKV-7: the reference against finite differences (float64), the fast CPU path against the
// reference (forward and every gradient), and the op's autograd wiring.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "kernel_test_inputs.h"
#include "statetune/kernels/large_output.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

using test_inputs::Inputs;
using test_inputs::random_inputs;
using test_inputs::rel_err;

// L = Σ y ⊙ gy + Σ sT ⊙ gsT, the scalar whose gradient the backward computes.
double loss(const Inputs& in, const at::Tensor& gy, const at::Tensor& gsT) {
  Wkv7Output out = wkv7_forward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  double l = (out.y * gy).sum().item<double>();
  if (gsT.defined()) l += (out.sT * gsT).sum().item<double>();
  return l;
}

// Central differences on up to `max_elems` evenly spread elements of every input.
void check_fd(int64_t B, int64_t T, int64_t H, int64_t N, bool shared, bool use_dsT, int64_t max_elems) {
  Inputs in = random_inputs(B, T, H, N, shared, at::kDouble, 7 + N + T);
  at::Tensor gy = at::randn(in.r.sizes(), at::kDouble);
  at::Tensor gsT = use_dsT ? at::randn({B, H, N, N}, at::kDouble) : at::Tensor();
  Wkv7Grads g = wkv7_backward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, gy, gsT);
  struct Item {
    const char* name;
    at::Tensor* x;
    at::Tensor grad;
  } items[] = {{"r", &in.r, g.dr}, {"w", &in.w, g.dw}, {"k", &in.k, g.dk}, {"v", &in.v, g.dv},
               {"a", &in.a, g.da}, {"b", &in.b, g.db}, {"s0", &in.s0, g.ds0}};
  const double eps = 1e-6;
  for (auto& item : items) {
    at::Tensor flat = item.x->view({-1});
    at::Tensor gflat = item.grad.reshape({-1});
    const int64_t n = flat.numel(), stride = std::max<int64_t>(1, n / max_elems);
    double worst = 0.0;
    for (int64_t e = 0; e < n; e += stride) {
      const double orig = flat[e].item<double>();
      flat[e] = orig + eps;
      const double lp = loss(in, gy, gsT);
      flat[e] = orig - eps;
      const double lm = loss(in, gy, gsT);
      flat[e] = orig;
      const double fd = (lp - lm) / (2 * eps), an = gflat[e].item<double>();
      worst = std::max(worst, std::abs(fd - an) / (1.0 + std::abs(fd)));
    }
    EXPECT_LT(worst, 1e-6) << "d" << item.name << " vs finite differences, N=" << N << " T=" << T
                           << (shared ? " shared s0" : " per-batch s0") << (use_dsT ? " with dsT" : "");
  }
}

TEST(Wkv7Reference, GradientsMatchFiniteDifferencesN16) {
  check_fd(2, 5, 2, 16, /*shared=*/false, /*use_dsT=*/true, 400);
  check_fd(2, 4, 1, 16, /*shared=*/true, /*use_dsT=*/false, 400);
}

TEST(Wkv7Reference, GradientsMatchFiniteDifferencesN64) {
  check_fd(1, 3, 1, 64, /*shared=*/false, /*use_dsT=*/true, 150);
  check_fd(2, 3, 1, 64, /*shared=*/true, /*use_dsT=*/false, 150);
}

// With s0 = I and v = 0 (no writes), S_t = A_1 A_2 ⋯ A_t (transitions multiply on the
// right), so y_t = A_1 ⋯ A_t r_t: the transported query of the kernel method.
TEST(Wkv7Reference, IdentityStateWithoutWritesTransportsTheQuery) {
  const int64_t T = 6, N = 8;
  Inputs in = random_inputs(1, T, 1, N, /*shared=*/true, at::kDouble, 3);
  in.v.zero_();
  in.s0 = at::eye(N, at::kDouble).unsqueeze(0);
  Wkv7Output out = wkv7_forward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  at::Tensor P = at::eye(N, at::kDouble);
  for (int64_t t = 0; t < T; ++t) {
    at::Tensor At = at::diag(in.w[0][t][0]) + at::outer(in.a[0][t][0], in.b[0][t][0]);
    P = P.matmul(At);
    at::Tensor q = P.matmul(in.r[0][t][0]);
    EXPECT_LT(rel_err(out.y[0][t][0], q), 1e-12) << "t=" << t;
  }
}

struct FastCase {
  int64_t B, T, N;
  bool shared, use_dsT;
};

// Readable ctest names instead of a byte dump of the parameter.
void PrintTo(const FastCase& c, std::ostream* os) {
  *os << "B" << c.B << " T" << c.T << " N" << c.N << (c.shared ? " shared" : " per-batch") << (c.use_dsT ? " dsT" : "");
}

class Wkv7FastPath : public ::testing::TestWithParam<FastCase> {};

TEST_P(Wkv7FastPath, MatchesReferenceForwardAndEveryGradient) {
  const FastCase c = GetParam();
  const int64_t H = 2;
  Inputs in = random_inputs(c.B, c.T, H, c.N, c.shared, at::kFloat, 100 + c.T);
  at::Tensor gy = at::randn(in.r.sizes());
  at::Tensor gsT = c.use_dsT ? at::randn({c.B, H, c.N, c.N}) : at::Tensor();
  Wkv7Output ref = wkv7_forward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  Wkv7SavedForward fast = wkv7_forward_cpu(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  EXPECT_LT(rel_err(fast.out.y, ref.y), 1e-5);
  EXPECT_LT(rel_err(fast.out.sT, ref.sT), 1e-5);
  Wkv7Grads gr = wkv7_backward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, gy, gsT);
  Wkv7Grads gf = wkv7_backward_cpu(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, fast.checkpoints, gy, gsT);
  EXPECT_LT(rel_err(gf.dr, gr.dr), 1e-5);
  EXPECT_LT(rel_err(gf.dw, gr.dw), 1e-5);
  EXPECT_LT(rel_err(gf.dk, gr.dk), 1e-5);
  EXPECT_LT(rel_err(gf.dv, gr.dv), 1e-5);
  EXPECT_LT(rel_err(gf.da, gr.da), 1e-5);
  EXPECT_LT(rel_err(gf.db, gr.db), 1e-5);
  ASSERT_EQ(gf.ds0.sizes(), in.s0.sizes());
  EXPECT_LT(rel_err(gf.ds0, gr.ds0), 1e-5);
}

std::vector<FastCase> fast_cases() {
  std::vector<FastCase> cases;
  for (int64_t B : {1, 3})
    for (int64_t T : {1, 7, 64, 257})
      for (int64_t N : {16, 64})
        for (bool shared : {false, true}) cases.push_back({B, T, N, shared, (T + N + B) % 2 == 0});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Wkv7FastPath, ::testing::ValuesIn(fast_cases()), [](const auto& info) {
  const FastCase& c = info.param;
  return "B" + std::to_string(c.B) + "_T" + std::to_string(c.T) + "_N" + std::to_string(c.N) +
         (c.shared ? "_shared" : "_perbatch") + (c.use_dsT ? "_dsT" : "");
});

void expect_fast_matches_reference(const Inputs& in, const at::Tensor& gy, const at::Tensor& gsT,
                                   const std::string& where) {
  Wkv7Output ref = wkv7_forward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  Wkv7SavedForward fast = wkv7_forward_cpu(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  EXPECT_LT(rel_err(fast.out.y, ref.y), 1e-5) << "y " << where;
  EXPECT_LT(rel_err(fast.out.sT, ref.sT), 1e-5) << "sT " << where;
  Wkv7Grads gr = wkv7_backward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, gy, gsT);
  Wkv7Grads gf = wkv7_backward_cpu(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, fast.checkpoints, gy, gsT);
  const std::pair<const char*, std::pair<at::Tensor, at::Tensor>> grads[] = {
      {"dr", {gf.dr, gr.dr}}, {"dw", {gf.dw, gr.dw}}, {"dk", {gf.dk, gr.dk}}, {"dv", {gf.dv, gr.dv}},
      {"da", {gf.da, gr.da}}, {"db", {gf.db, gr.db}}, {"ds0", {gf.ds0, gr.ds0}}};
  for (const auto& [name, g] : grads) EXPECT_LT(rel_err(g.first, g.second), 1e-5) << name << " " << where;
}

// The fast path keeps the state divided by the running product of the decays and falls back
// to a plain step when that product leaves its safe range: decays far below RWKV-7's 0.545
// bound, exact zeros and exact ones drive it through both branches, for every head size the
// register-blocked kernels have and an odd number of heads (heads are grouped per task).
TEST(Wkv7FastPathExtremes, SmallZeroAndUnitDecaysMatchTheReference) {
  for (int64_t N : {16, 32, 64, 128}) {
    const int64_t B = 2, T = 150, H = 3;
    Inputs in = random_inputs(B, T, H, N, /*shared_s0=*/N % 32 == 0, at::kFloat, 500 + N);
    at::manual_seed(900 + N);
    in.w = 0.01 + 0.49 * at::rand({B, T, H, N});
    in.w.masked_fill_(at::rand({B, T, H, N}) < 0.05, 0.0);
    in.w.masked_fill_(at::rand({B, T, H, N}) < 0.05, 1.0);
    in.w.select(1, 40).fill_(1e-30f);  // one step that nearly wipes the state
    at::Tensor gy = at::randn(in.r.sizes());
    at::Tensor gsT = at::randn({B, H, N, N});
    expect_fast_matches_reference(in, gy, gsT, "N=" + std::to_string(N));
  }
}

// Large outputs (y, the checkpoints, every input gradient) come from reused buffers that hold
// whatever the last user left: poison the cache with NaN-filled buffers of exactly their size
// first, and the fast path must still overwrite every element.
TEST(Wkv7FastPathOutputCache, ReusedBuffersAreFullyOverwritten) {
  const int64_t B = 1, T = 2048, H = 16, N = 64;  // every [B,T,H,N] fp32 output and the checkpoints: 8 MiB
  ASSERT_GE(static_cast<size_t>(B * T * H * N * 4), kLargeOutputBytes);
  Inputs in = random_inputs(B, T, H, N, /*shared_s0=*/true, at::kFloat, 77);
  at::Tensor gy = at::randn(in.r.sizes()), gsT = at::randn({B, H, N, N});
  {
    std::vector<at::Tensor> poison;
    for (int i = 0; i < 8; ++i)
      poison.push_back(empty_large_output({B, T, H, N}, at::kFloat).fill_(std::numeric_limits<float>::quiet_NaN()));
  }
  const int64_t reused_before = large_output_cache_stats().reused;
  expect_fast_matches_reference(in, gy, gsT, "after poisoning the output cache");
  EXPECT_GE(large_output_cache_stats().reused - reused_before, 8) << "the poisoned buffers were not the ones reused";
}

// Tasks write only their own outputs: one thread and two give the same bits.
TEST(Wkv7FastPathThreads, ResultsDoNotDependOnTheThreadCount) {
  Inputs in = random_inputs(3, 300, 5, 64, /*shared_s0=*/true, at::kFloat, 31);
  at::Tensor gy = at::randn(in.r.sizes());
  auto run = [&](int threads) {
    at::set_num_threads(threads);
    Wkv7SavedForward f = wkv7_forward_cpu(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
    Wkv7Grads g = wkv7_backward_cpu(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, f.checkpoints, gy, at::Tensor());
    return std::vector<at::Tensor>{f.out.y, f.out.sT, g.dr, g.dw, g.dk, g.dv, g.da, g.db, g.ds0};
  };
  const int before = at::get_num_threads();
  const auto one = run(1), two = run(2);
  at::set_num_threads(before);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(at::equal(one[i], two[i])) << "output " << i;
}

// The autograd op gives the same gradients as calling the backward directly.
TEST(Wkv7Autograd, BackwardThroughTheOpMatchesTheReference) {
  Inputs in = random_inputs(2, 20, 2, 16, /*shared=*/true, at::kDouble, 11);
  for (at::Tensor* t : {&in.r, &in.w, &in.k, &in.v, &in.a, &in.b, &in.s0}) t->set_requires_grad(true);
  at::Tensor gy = at::randn(in.r.sizes(), at::kDouble), gsT = at::randn({2, 2, 16, 16}, at::kDouble);
  Wkv7Output out = wkv7(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  ((out.y * gy).sum() + (out.sT * gsT).sum()).backward();
  Wkv7Grads gr = wkv7_backward_ref(in.r.detach(), in.w.detach(), in.k.detach(), in.v.detach(), in.a.detach(),
                                   in.b.detach(), in.s0.detach(), gy, gsT);
  EXPECT_LT(rel_err(in.r.grad(), gr.dr), 1e-12);
  EXPECT_LT(rel_err(in.w.grad(), gr.dw), 1e-12);
  EXPECT_LT(rel_err(in.a.grad(), gr.da), 1e-12);
  EXPECT_LT(rel_err(in.s0.grad(), gr.ds0), 1e-12);
}

TEST(Wkv7Checks, BadShapesAreReadableErrors) {
  Inputs in = random_inputs(1, 3, 2, 16, false, at::kFloat, 1);
  try {
    wkv7_forward_cpu(in.r, in.w, in.k.narrow(3, 0, 8), in.v, in.a, in.b, in.s0);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("k must have r's shape [1, 3, 2, 16], got [1, 3, 2, 8]"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace statetune::kernels

namespace statetune::kernels {
namespace {

// bf16 inputs: the op widens them exactly and keeps an fp32 state, so against the reference
// run on the same (rounded) inputs the only differences are fp32 accumulation (~1e-6) and
// rounding y to bf16, which moves each element by at most 2^-8 relative: hence 2^-8 + 1e-5
// on y and its gradients, and 1e-5 on the fp32 final state.
TEST(Wkv7Bf16, InputsRoundedToBf16MatchTheReferenceWithinRounding) {
  Inputs in = random_inputs(2, 40, 2, 16, /*shared=*/true, at::kFloat, 21);
  auto bf = [](const at::Tensor& t) { return t.to(at::kBFloat16); };
  at::Tensor r = bf(in.r), w = bf(in.w), k = bf(in.k), v = bf(in.v), a = bf(in.a), b = bf(in.b);
  Wkv7Output ref = wkv7_forward_ref(r.to(at::kDouble), w.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble),
                                    a.to(at::kDouble), b.to(at::kDouble), in.s0.to(at::kDouble));
  at::Tensor s0 = in.s0.clone().set_requires_grad(true);
  at::Tensor rg = r.clone().set_requires_grad(true);
  Wkv7Output out = wkv7(rg, w, k, v, a, b, s0);
  EXPECT_EQ(out.y.scalar_type(), at::kBFloat16);
  EXPECT_EQ(out.sT.scalar_type(), at::kFloat);
  const double tol = 1.0 / 256 + 1e-5;
  EXPECT_LT(rel_err(out.y, ref.y), tol);
  EXPECT_LT(rel_err(out.sT, ref.sT), 1e-5);
  // The gradient reaching a bf16 y is bf16 too: give the reference the same rounded dy.
  at::Tensor gy = at::randn(in.r.sizes()).to(at::kBFloat16).to(at::kFloat);
  (out.y.to(at::kFloat) * gy).sum().backward();
  Wkv7Grads g = wkv7_backward_ref(r.to(at::kDouble), w.to(at::kDouble), k.to(at::kDouble), v.to(at::kDouble),
                                  a.to(at::kDouble), b.to(at::kDouble), in.s0.to(at::kDouble), gy.to(at::kDouble),
                                  at::Tensor());
  EXPECT_LT(rel_err(s0.grad(), g.ds0), 1e-5);
  EXPECT_LT(rel_err(rg.grad(), g.dr), tol);
}

}  // namespace
}  // namespace statetune::kernels
