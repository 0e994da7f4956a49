// test_gpu_torch: the ops on CUDA tensors through their LibTorch adapters (kernels/glue/) and
// autograd, against the float64 CPU reference — the path the model takes on a GPU.
//
// Built with every LibTorch; exits 77 (ctest: skipped) unless torch sees a CUDA device, so on
// a CPU-only LibTorch it only proves that this test compiles. Tolerances are the CUDA kernels'
// (tests/gpu/wkv7_gpu_test.cpp explains them): 1e-5 relative norm for fp32 results, u + 1e-5
// for results stored in bf16 (u = 2^-8), 1e-5 for the fp32 state and ds0 in every case.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <cstdio>
#include <string>

#include "kernel_test_inputs.h"
#include "statetune/common/error.h"
#include "statetune/kernels/kernel_readout.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

using test_inputs::rel_err;

constexpr double kBf16Unit = 1.0 / 256.0;

struct Wkv7Case {
  int64_t B, T, H, N;
  bool shared;
  at::ScalarType dtype;  // of r..b on the GPU (the state is fp32 always)
};

void PrintTo(const Wkv7Case& c, std::ostream* os) {
  *os << "B" << c.B << " T" << c.T << " H" << c.H << " N" << c.N << (c.shared ? " shared" : " per-batch")
      << " " << c10::toString(c.dtype);
}

class Wkv7Cuda : public ::testing::TestWithParam<Wkv7Case> {};

TEST_P(Wkv7Cuda, AutogradMatchesReference) {
  const Wkv7Case c = GetParam();
  test_inputs::Inputs in = test_inputs::random_inputs(c.B, c.T, c.H, c.N, c.shared, at::kDouble, 40 + c.N + c.T);
  // The reference sees exactly the values the GPU sees: round r..b to the GPU dtype first.
  for (at::Tensor* t : {&in.r, &in.w, &in.k, &in.v, &in.a, &in.b}) *t = t->to(c.dtype).to(at::kDouble);
  at::Tensor gy = at::randn(in.r.sizes(), at::kDouble).to(c.dtype).to(at::kDouble);
  at::Tensor gsT = at::randn({c.B, c.H, c.N, c.N}, at::kDouble);
  Wkv7Output ref = wkv7_forward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0);
  Wkv7Grads gref = wkv7_backward_ref(in.r, in.w, in.k, in.v, in.a, in.b, in.s0, gy, gsT);

  auto gpu = [&](const at::Tensor& t, at::ScalarType dt) { return t.to(at::kCUDA, dt).requires_grad_(true); };
  at::Tensor r = gpu(in.r, c.dtype), w = gpu(in.w, c.dtype), k = gpu(in.k, c.dtype), v = gpu(in.v, c.dtype);
  at::Tensor a = gpu(in.a, c.dtype), b = gpu(in.b, c.dtype), s0 = gpu(in.s0, at::kFloat);
  Wkv7Output out = wkv7(r, w, k, v, a, b, s0);
  ASSERT_TRUE(out.y.is_cuda());
  EXPECT_EQ(out.y.scalar_type(), c.dtype);
  EXPECT_EQ(out.sT.scalar_type(), at::kFloat);
  at::Tensor L = (out.y.to(at::kDouble) * gy.to(at::kCUDA)).sum() + (out.sT.to(at::kDouble) * gsT.to(at::kCUDA)).sum();
  L.backward();

  const double io_tol = c.dtype == at::kFloat ? 1e-5 : kBf16Unit + 1e-5;
  EXPECT_LT(rel_err(out.y.cpu(), ref.y), io_tol) << "y";
  EXPECT_LT(rel_err(out.sT.cpu(), ref.sT), 1e-5) << "sT";
  const std::pair<const char*, std::pair<at::Tensor, at::Tensor>> grads[] = {
      {"dr", {r.grad(), gref.dr}}, {"dw", {w.grad(), gref.dw}}, {"dk", {k.grad(), gref.dk}},
      {"dv", {v.grad(), gref.dv}}, {"da", {a.grad(), gref.da}}, {"db", {b.grad(), gref.db}}};
  for (const auto& [name, g] : grads) {
    ASSERT_TRUE(g.first.defined()) << name;
    EXPECT_LT(rel_err(g.first.cpu(), g.second), io_tol) << name;
  }
  ASSERT_TRUE(s0.grad().defined());
  EXPECT_EQ(s0.grad().sizes(), in.s0.sizes());
  EXPECT_LT(rel_err(s0.grad().cpu(), gref.ds0), 1e-5) << "ds0";
}

INSTANTIATE_TEST_SUITE_P(Shapes, Wkv7Cuda,
                         ::testing::Values(Wkv7Case{1, 1, 2, 16, false, at::kFloat},
                                           Wkv7Case{3, 37, 2, 64, true, at::kFloat},
                                           Wkv7Case{2, 257, 3, 64, false, at::kFloat},
                                           Wkv7Case{2, 40, 2, 128, true, at::kFloat},
                                           Wkv7Case{3, 64, 2, 32, false, at::kBFloat16},
                                           Wkv7Case{2, 33, 2, 64, true, at::kBFloat16}));

TEST(Wkv7CudaErrors, UnsupportedHeadSizeAndStateDtypeAreNamed) {
  auto o = at::TensorOptions().device(at::kCUDA);
  at::Tensor x = at::rand({1, 4, 2, 48}, o) * 0.5 + 0.5;
  try {
    wkv7(x, x, x, x, x, x, at::Tensor());
    FAIL() << "N = 48 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head size N must be 16, 32, 64 or 128, got 48"), std::string::npos)
        << e.what();
  }
  at::Tensor y = at::rand({1, 4, 2, 16}, o.dtype(at::kBFloat16));
  try {
    wkv7(y, y, y, y, y, y, at::zeros({2, 16, 16}, o.dtype(at::kBFloat16)));
    FAIL() << "a bf16 s0 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("s0 must be float32"), std::string::npos) << e.what();
  }
}

TEST(KernelReadoutCuda, AutogradMatchesReferenceWithZeroQueries) {
  test_inputs::Params p = test_inputs::random_params(2, 19, 3, 64, 128, at::kDouble, 77);
  p.q.select(1, 3).zero_();  // q = 0 at one position of every sequence and head: φ = 0, no NaN
  at::Tensor d_o = at::randn(p.q.sizes(), at::kDouble);
  KernelReadoutOutput ref = kernel_readout_forward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutGrads gref = kernel_readout_backward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);

  auto gpu = [](const at::Tensor& t, bool grad) { return t.to(at::kCUDA, at::kFloat).requires_grad_(grad); };
  at::Tensor q = gpu(p.q, true), S0 = gpu(p.S0, true), S_hat = gpu(p.S_hat, true);
  KernelReadoutOutput out =
      kernel_readout(q, S0, gpu(p.C, false), gpu(p.gamma, false), gpu(p.R, false), S_hat, gpu(p.Q, false));
  ASSERT_TRUE(out.o.is_cuda());
  (out.o.to(at::kDouble) * d_o.to(at::kCUDA)).sum().backward();

  EXPECT_LT(rel_err(out.o.cpu(), ref.o), 1e-5) << "o";
  EXPECT_LT(rel_err(out.z.cpu(), ref.z), 1e-5) << "z";
  EXPECT_TRUE(at::isfinite(q.grad()).all().item<bool>());
  EXPECT_LT(rel_err(q.grad().cpu(), gref.dq), 1e-5) << "dq";
  EXPECT_LT(rel_err(S0.grad().cpu(), gref.dS0), 1e-5) << "dS0";
  EXPECT_LT(rel_err(S_hat.grad().cpu(), gref.dS_hat), 1e-5) << "dS_hat";
}

}  // namespace
}  // namespace statetune::kernels

int main(int argc, char** argv) {
  if (!torch::cuda::is_available()) {
    std::printf("test_gpu_torch: no CUDA device visible to this LibTorch: skipped\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
