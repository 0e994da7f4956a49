// The kernel read-out (METHOD.md §2): the reference against finite differences (float64),
// the fast path against the reference (forward and every gradient, fp32), the reduction to
// standard state tuning when Ŝ = 0 (checked against the WKV-7 op itself), the q = 0
// convention, the autograd wiring, and readable shape errors.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>
#include <string>
#include <vector>

#include "kernel_test_inputs.h"
#include "statetune/common/error.h"
#include "statetune/kernels/kernel_readout.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

using test_inputs::Params;
using test_inputs::random_params;
using test_inputs::rel_err;

bool all_finite(const at::Tensor& t) { return at::isfinite(t).all().item<bool>(); }

// L = Σ o ⊙ d_o, the scalar whose gradient the backward computes.
double loss(const Params& p, const at::Tensor& d_o) {
  KernelReadoutOutput out = kernel_readout_forward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  return (out.o * d_o).sum().item<double>();
}

TEST(KernelReadoutReference, GradientsMatchFiniteDifferences) {
  Params p = random_params(2, 3, 2, 8, 6, at::kDouble, 11);
  at::Tensor d_o = at::randn(p.q.sizes(), at::kDouble);
  KernelReadoutGrads g = kernel_readout_backward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  struct Item {
    const char* name;
    at::Tensor* x;
    at::Tensor grad;
  } items[] = {{"q", &p.q, g.dq}, {"S0", &p.S0, g.dS0}, {"S_hat", &p.S_hat, g.dS_hat}};
  const double eps = 1e-6;
  for (auto& item : items) {
    at::Tensor flat = item.x->view({-1});
    at::Tensor gflat = item.grad.reshape({-1});
    double worst = 0.0;
    for (int64_t e = 0; e < flat.numel(); ++e) {  // every element: the shapes are small
      const double orig = flat[e].item<double>();
      flat[e] = orig + eps;
      const double lp = loss(p, d_o);
      flat[e] = orig - eps;
      const double lm = loss(p, d_o);
      flat[e] = orig;
      const double fd = (lp - lm) / (2 * eps), an = gflat[e].item<double>();
      worst = std::max(worst, std::abs(fd - an) / (1.0 + std::abs(fd)));
    }
    EXPECT_LT(worst, 1e-7) << "d" << item.name << " vs central finite differences";
  }
}

// The features themselves, written out independently with ATen ops (einsum, explicit
// ‖u − c‖²), so the reference is not only checked against itself.
TEST(KernelReadoutReference, ForwardMatchesTheFormula) {
  Params p = random_params(2, 3, 2, 8, 6, at::kDouble, 12);
  KernelReadoutOutput out = kernel_readout_forward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  at::Tensor n = p.q.norm(2, -1, true);                                        // [B,T,H,1]
  at::Tensor u = p.q / n;
  at::Tensor d2 = (u.unsqueeze(3) - p.C.unsqueeze(0).unsqueeze(0)).pow(2).sum(-1);  // [B,T,H,M]
  at::Tensor phi = n * at::exp(-p.gamma.view({1, 1, -1, 1}) * d2);
  at::Tensor z = at::einsum("hij,bthj->bthi", {p.R, phi});
  at::Tensor o = at::einsum("hij,bthj->bthi", {p.S0, p.q}) +
                 at::einsum("hij,bthj->bthi", {at::matmul(p.Q, p.S_hat), z});
  EXPECT_LT(rel_err(out.z, z), 1e-13);
  EXPECT_LT(rel_err(out.o, o), 1e-13);
}

struct FastCase {
  int64_t B, T, H, N, M;
};

void PrintTo(const FastCase& c, std::ostream* os) {
  *os << "B" << c.B << " T" << c.T << " H" << c.H << " N" << c.N << " M" << c.M;
}

class KernelReadoutFastPath : public ::testing::TestWithParam<FastCase> {};

TEST_P(KernelReadoutFastPath, MatchesReferenceForwardAndEveryGradientFp32) {
  const FastCase c = GetParam();
  Params p = random_params(c.B, c.T, c.H, c.N, c.M, at::kFloat, 100 + c.N + c.M);
  at::Tensor d_o = at::randn(p.q.sizes(), at::kFloat);
  KernelReadoutOutput ref = kernel_readout_forward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutOutput cpu = kernel_readout_forward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutGrads gr = kernel_readout_backward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  KernelReadoutGrads gc = kernel_readout_backward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  EXPECT_EQ(cpu.o.scalar_type(), at::kFloat);
  EXPECT_EQ(gc.dq.scalar_type(), at::kFloat);
  const std::string where = " N=" + std::to_string(c.N) + " M=" + std::to_string(c.M);
  EXPECT_LT(rel_err(cpu.o, ref.o), 1e-5) << "o" << where;
  EXPECT_LT(rel_err(cpu.z, ref.z), 1e-5) << "z" << where;
  EXPECT_LT(rel_err(gc.dq, gr.dq), 1e-5) << "dq" << where;
  EXPECT_LT(rel_err(gc.dS0, gr.dS0), 1e-5) << "dS0" << where;
  EXPECT_LT(rel_err(gc.dS_hat, gr.dS_hat), 1e-5) << "dS_hat" << where;
}

INSTANTIATE_TEST_SUITE_P(Shapes, KernelReadoutFastPath,
                         ::testing::Values(FastCase{2, 5, 2, 16, 32}, FastCase{2, 4, 2, 16, 128},
                                           FastCase{1, 4, 2, 64, 32}, FastCase{2, 3, 2, 64, 128}),
                         [](const ::testing::TestParamInfo<FastCase>& info) {
                           return "N" + std::to_string(info.param.N) + "_M" + std::to_string(info.param.M);
                         });

// The fast path in float64 is the reference to rounding: catches formula slips the fp32
// tolerance could hide.
TEST(KernelReadoutFastPath, MatchesReferenceFp64Tightly) {
  Params p = random_params(2, 4, 2, 16, 24, at::kDouble, 5);
  at::Tensor d_o = at::randn(p.q.sizes(), at::kDouble);
  KernelReadoutOutput ref = kernel_readout_forward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutOutput cpu = kernel_readout_forward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutGrads gr = kernel_readout_backward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  KernelReadoutGrads gc = kernel_readout_backward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  EXPECT_LT(rel_err(cpu.o, ref.o), 1e-12);
  EXPECT_LT(rel_err(cpu.z, ref.z), 1e-12);
  EXPECT_LT(rel_err(gc.dq, gr.dq), 1e-12);
  EXPECT_LT(rel_err(gc.dS0, gr.dS0), 1e-12);
  EXPECT_LT(rel_err(gc.dS_hat, gr.dS_hat), 1e-12);
}

// With Ŝ = 0 the kernel method is standard state tuning: o = S0·q_t, where q_t is the WKV-7
// op run from s0 = I with v = 0, must equal the y of the WKV-7 op run from s0 = S0 with v = 0
// (the S0-dependent part of the model's output), and dS0 must equal the WKV-7 op's ds0.
TEST(KernelReadoutReference, ZeroKernelStateIsStandardStateTuning) {
  const int64_t B = 2, T = 7, H = 2, N = 8, M = 6;
  at::manual_seed(21);
  auto o = at::TensorOptions().dtype(at::kDouble);
  // WKV-7 inputs as in wkv7_test.cpp's random_inputs: contractive transitions.
  at::Tensor r = at::randn({B, T, H, N}, o) * 0.5;
  at::Tensor w = 0.55 + 0.45 * at::rand({B, T, H, N}, o);
  at::Tensor k = at::randn({B, T, H, N}, o) * 0.5;
  at::Tensor v = at::zeros({B, T, H, N}, o);  // no writes
  at::Tensor kk = at::randn({B, T, H, N}, o);
  kk = kk / kk.norm(2, -1, true);
  at::Tensor a = -kk, b = kk * at::rand({B, T, H, N}, o);
  at::Tensor eye = at::eye(N, o).expand({H, N, N}).contiguous();
  at::Tensor q = wkv7_forward_ref(r, w, k, v, a, b, eye).y;  // transported query

  Params p = random_params(B, T, H, N, M, at::kDouble, 22);
  at::Tensor S_hat0 = at::zeros({H, M, M}, o);
  KernelReadoutOutput ro = kernel_readout_forward_ref(q, p.S0, p.C, p.gamma, p.R, S_hat0, p.Q);
  Wkv7Output base = wkv7_forward_ref(r, w, k, v, a, b, p.S0);
  EXPECT_LT(rel_err(ro.o, base.y), 1e-10) << "S0·q_t vs WKV-7 from s0 = S0";
  EXPECT_LT(rel_err(ro.o, at::einsum("hij,bthj->bthi", {p.S0, q})), 1e-13) << "o is exactly S0·q";
  EXPECT_GT(ro.z.abs().max().item<double>(), 0.0) << "features are on, only Ŝ is zero";

  at::Tensor dy = at::randn({B, T, H, N}, o);
  KernelReadoutGrads g = kernel_readout_backward_ref(q, p.S0, p.C, p.gamma, p.R, S_hat0, p.Q, dy);
  Wkv7Grads gw = wkv7_backward_ref(r, w, k, v, a, b, p.S0, dy, at::Tensor());
  EXPECT_LT(rel_err(g.dS0, gw.ds0), 1e-10) << "dS0 vs the WKV-7 op's ds0";
  KernelReadoutGrads gc = kernel_readout_backward_cpu(q, p.S0, p.C, p.gamma, p.R, S_hat0, p.Q, dy);
  EXPECT_LT(rel_err(gc.dS0, gw.ds0), 1e-10) << "fast dS0 vs the WKV-7 op's ds0";
}

// q = 0 exactly (the transported query of a fully decayed state, or padding): φ = 0 and
// z = 0 there, o = 0, and no gradient is NaN — in the reference, the fast path and autograd.
TEST(KernelReadoutZeroQuery, FiniteEverywhereAndAutogradMatches) {
  const int64_t B = 2, T = 4, H = 2, N = 16, M = 8;
  Params p = random_params(B, T, H, N, M, at::kDouble, 31);
  p.q[0][1].zero_();        // every head of one token
  p.q[1][2][0].zero_();     // one head of another
  p.q[1][3][1].mul_(1e-30); // below the eps threshold but not zero
  at::Tensor d_o = at::randn(p.q.sizes(), at::kDouble);

  for (bool fast : {false, true}) {
    const std::string which = fast ? "cpu" : "ref";
    KernelReadoutOutput out = fast ? kernel_readout_forward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q)
                                   : kernel_readout_forward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
    EXPECT_TRUE(all_finite(out.o)) << which;
    EXPECT_TRUE(all_finite(out.z)) << which;
    EXPECT_EQ(out.z[0][1].abs().max().item<double>(), 0.0) << which << ": φ = 0 at q = 0";
    EXPECT_EQ(out.z[1][2][0].abs().max().item<double>(), 0.0) << which;
    EXPECT_EQ(out.o[0][1].abs().max().item<double>(), 0.0) << which << ": o = 0 at q = 0";
    KernelReadoutGrads g = fast ? kernel_readout_backward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o)
                                : kernel_readout_backward_ref(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
    EXPECT_TRUE(all_finite(g.dq)) << which;
    EXPECT_TRUE(all_finite(g.dS0)) << which;
    EXPECT_TRUE(all_finite(g.dS_hat)) << which;
    // The documented convention: only the linear term's gradient at q = 0.
    at::Tensor lin = at::einsum("hij,hi->hj", {p.S0, d_o[0][1]});
    EXPECT_LT(rel_err(g.dq[0][1], lin), 1e-13) << which << ": dq = S0ᵀ d_o at q = 0";
  }

  // φ is continuous at 0: a tiny query gives tiny features (degree-1 homogeneity).
  Params tiny = p;
  tiny.q = p.q * 1e-9;
  KernelReadoutOutput small = kernel_readout_forward_cpu(tiny.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutOutput full = kernel_readout_forward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q);
  EXPECT_LT(rel_err(small.z, full.z * 1e-9), 1e-12);

  // Autograd: gradients to q, S0, Ŝ equal the direct backward; z carries no gradient.
  at::Tensor q = p.q.clone().requires_grad_(true);
  at::Tensor S0 = p.S0.clone().requires_grad_(true);
  at::Tensor S_hat = p.S_hat.clone().requires_grad_(true);
  KernelReadoutOutput out = kernel_readout(q, S0, p.C, p.gamma, p.R, S_hat, p.Q);
  EXPECT_FALSE(out.z.requires_grad());
  out.o.backward(d_o);
  KernelReadoutGrads g = kernel_readout_backward_cpu(p.q, p.S0, p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  ASSERT_TRUE(q.grad().defined() && S0.grad().defined() && S_hat.grad().defined());
  EXPECT_TRUE(all_finite(q.grad()));
  EXPECT_LT(rel_err(q.grad(), g.dq), 1e-14);
  EXPECT_LT(rel_err(S0.grad(), g.dS0), 1e-14);
  EXPECT_LT(rel_err(S_hat.grad(), g.dS_hat), 1e-14);
}

// Autograd in fp32 with S0 undefined (METHOD's `linear: false`): o = Q Ŝ z only.
TEST(KernelReadoutAutograd, WithoutLinearStateMatchesReference) {
  Params p = random_params(2, 3, 2, 16, 32, at::kFloat, 41);
  at::Tensor d_o = at::randn(p.q.sizes(), at::kFloat);
  at::Tensor q = p.q.clone().requires_grad_(true);
  at::Tensor S_hat = p.S_hat.clone().requires_grad_(true);
  KernelReadoutOutput out = kernel_readout(q, at::Tensor(), p.C, p.gamma, p.R, S_hat, p.Q);
  out.o.backward(d_o);
  KernelReadoutOutput ref = kernel_readout_forward_ref(p.q, at::Tensor(), p.C, p.gamma, p.R, p.S_hat, p.Q);
  KernelReadoutGrads gr = kernel_readout_backward_ref(p.q, at::Tensor(), p.C, p.gamma, p.R, p.S_hat, p.Q, d_o);
  EXPECT_FALSE(gr.dS0.defined());
  EXPECT_LT(rel_err(out.o, ref.o), 1e-5);
  EXPECT_LT(rel_err(q.grad(), gr.dq), 1e-5);
  EXPECT_LT(rel_err(S_hat.grad(), gr.dS_hat), 1e-5);
}

// Every bad argument is named in the message with the shape it must have.
TEST(KernelReadoutChecks, ShapeErrorsAreReadable) {
  const int64_t B = 2, T = 3, H = 2, N = 8, M = 6;
  Params p = random_params(B, T, H, N, M, at::kFloat, 51);
  auto message = [&](const Params& x, const at::Tensor& d_o = at::Tensor()) -> std::string {
    try {
      if (d_o.defined())
        kernel_readout_backward_cpu(x.q, x.S0, x.C, x.gamma, x.R, x.S_hat, x.Q, d_o);
      else
        kernel_readout_forward_cpu(x.q, x.S0, x.C, x.gamma, x.R, x.S_hat, x.Q);
    } catch (const statetune::Error& e) {
      return e.what();
    }
    return "no error";
  };
  struct Case {
    const char* what;
    Params x;
    at::Tensor d_o;
    std::string expect;
  };
  std::vector<Case> cases;
  auto with = [&](at::Tensor Params::*field, at::Tensor value) {
    Params x = p;
    x.*field = value;
    return x;
  };
  cases.push_back({"q 3-d", with(&Params::q, at::zeros({B, T, N})), {}, "q must be [B, T, H, N], got [2, 3, 8]"});
  cases.push_back({"S0", with(&Params::S0, at::zeros({H, N, N + 1})), {}, "S0 must be [H, N, N] = [2, 8, 8], got [2, 8, 9]"});
  cases.push_back({"C", with(&Params::C, at::zeros({H + 1, M, N})), {}, "C (support vectors) must be [H, M, N] = [2, M, 8], got [3, 6, 8]"});
  cases.push_back({"gamma", with(&Params::gamma, at::zeros({1})), {}, "gamma must be [H] = [2], got [1]"});
  cases.push_back({"R", with(&Params::R, at::zeros({H, M, N})), {}, "R must be [H, M, M] = [2, 6, 6], got [2, 6, 8]"});
  cases.push_back({"S_hat", with(&Params::S_hat, at::Tensor()), {}, "S_hat must be [H, M, M] = [2, 6, 6], got undefined"});
  cases.push_back({"Q", with(&Params::Q, at::zeros({H, M, N})), {}, "Q must be [H, N, M] = [2, 8, 6], got [2, 6, 8]"});
  cases.push_back({"dtype", with(&Params::S_hat, p.S_hat.to(at::kDouble)), {}, "S_hat has dtype Double, expected q's dtype Float"});
  cases.push_back({"int q", with(&Params::q, p.q.to(at::kInt)), {}, "float32 or float64, got Int"});
  cases.push_back({"d_o", p, at::zeros({B, T, H, N - 1}), "d_o must be q's shape [B, T, H, N] = [2, 3, 2, 8], got [2, 3, 2, 7]"});
  for (const Case& c : cases) {
    const std::string msg = message(c.x, c.d_o);
    EXPECT_NE(msg.find(c.expect), std::string::npos) << c.what << ": got \"" << msg << "\"";
  }
  // Fixed buffers may not require grad in the autograd op (their gradient would be dropped).
  at::Tensor R = p.R.clone().requires_grad_(true);
  try {
    kernel_readout(p.q, p.S0, p.C, p.gamma, R, p.S_hat, p.Q);
    ADD_FAILURE() << "R requiring grad was accepted";
  } catch (const statetune::Error& e) {
    EXPECT_NE(std::string(e.what()).find("R is a fixed buffer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace statetune::kernels
