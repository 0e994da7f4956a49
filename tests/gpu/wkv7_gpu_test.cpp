// test_gpu_wkv7: the WKV-7 CUDA kernels (kernels/cuda/wkv7_cuda.cuh) against a float64 CPU
// reference, llm.c style: the reference is plain loops beside the comparison.
//
//  1. Checks the reference's own backward against central finite differences (float64, tiny
//     N = 4, T = 5, shared and per-batch s0). Runs without a GPU.
//  2. Without a GPU: prints "no GPU: skipped" and exits 77 (ctest SKIP_RETURN_CODE).
//  3. Runs forward + backward on the GPU for N ∈ {16,32,64,128} × T ∈ {1,17,64,300} × B ∈ {1,3}
//     × {per-batch, shared s0} × {fp32, bf16} (+ a few fp16 cases) and compares every output
//     with the reference by relative norm error ‖x - ref‖ / ‖ref‖. Exits 1 on any mismatch.
//
// The inputs handed to the reference are exactly the values the GPU sees (rounded to the
// input dtype on the host first), so only the kernel's fp32 arithmetic and the rounding of the
// outputs to the input dtype differ. Tolerances (see tolerance()):
//   * fp32 accumulation: 1e-5 relative norm for every output.
//   * outputs stored in bf16 / fp16 (y and dr..db): round-to-nearest changes each element by
//     at most u·|x| (u = 2^-8 for bf16, 2^-11 for fp16), hence the norm by at most u·‖x‖; the
//     tolerance is u + 1e-5. sT and ds0 are fp32 in every case and keep 1e-5.
//
// Built twice (tests/CMakeLists.txt): test_gpu_wkv7 with nvcc and cudart, and
// test_gpu_wkv7_emulated against the CPU emulation of tests/gpu/emulation (the same kernel
// sources as C++, no GPU needed), which runs the same cases and says that it is not a GPU.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "wkv7_cuda.cuh"

namespace {

using statetune::kernels::Wkv7DType;


// =============================================================================================
// Reference: float64, the loops of the design notes (RWKV7.md §2.1), every state kept.
// =============================================================================================
struct Problem {
  int B = 1, T = 1, H = 1, N = 4;
  bool shared = false;                  // s0 is [H, N, N] shared by the batch
  std::vector<double> r, w, k, v, a, b;  // [B, T, H, N]
  std::vector<double> s0;               // [B, H, N, N] or [H, N, N]
  size_t x_size() const { return size_t(B) * T * H * N; }
  size_t state_size() const { return size_t(B) * H * N * N; }
  size_t s0_size() const { return size_t(shared ? 1 : B) * H * N * N; }
  size_t at(int bi, int t, int h, int i) const { return ((size_t(bi) * T + t) * H + h) * N + i; }
};

struct Outputs {
  std::vector<double> y, sT;  // [B, T, H, N], [B, H, N, N]
};

struct Grads {
  std::vector<double> dr, dw, dk, dv, da, db;  // [B, T, H, N]
  std::vector<double> ds0;                     // s0's shape
};

// One (b, h): states[t] = S after step t-1 (states[0] = s0), sas[t] = sa of step t.
void ref_run_head(const Problem& p, int bi, int h, std::vector<double>& states, std::vector<double>& sas,
                  Outputs* out) {
  const int N = p.N;
  const size_t NN = size_t(N) * N;
  states.assign((p.T + 1) * NN, 0.0);
  sas.assign(size_t(p.T) * N, 0.0);
  const double* src = p.s0.empty() ? nullptr : p.s0.data() + size_t(p.shared ? h : bi * p.H + h) * NN;
  if (src) std::copy(src, src + NN, states.begin());
  for (int t = 0; t < p.T; ++t) {
    const double* S = states.data() + t * NN;
    double* Sn = states.data() + (t + 1) * NN;
    for (int i = 0; i < N; ++i) {
      double sa = 0;
      for (int j = 0; j < N; ++j) sa += S[i * N + j] * p.a[p.at(bi, t, h, j)];
      sas[size_t(t) * N + i] = sa;
      const double vi = p.v[p.at(bi, t, h, i)];
      double y = 0;
      for (int j = 0; j < N; ++j) {
        const size_t o = p.at(bi, t, h, j);
        Sn[i * N + j] = S[i * N + j] * p.w[o] + sa * p.b[o] + vi * p.k[o];
        y += Sn[i * N + j] * p.r[o];
      }
      if (out) out->y[p.at(bi, t, h, i)] = y;
    }
  }
  if (out) {
    std::copy(states.end() - NN, states.end(), out->sT.begin() + (size_t(bi) * p.H + h) * NN);
  }
}

Outputs ref_forward(const Problem& p) {
  Outputs out;
  out.y.assign(p.x_size(), 0.0);
  out.sT.assign(p.state_size(), 0.0);
  std::vector<double> states, sas;
  for (int bi = 0; bi < p.B; ++bi)
    for (int h = 0; h < p.H; ++h) ref_run_head(p, bi, h, states, sas, &out);
  return out;
}

// dy [B, T, H, N]; dsT [B, H, N, N] or empty (zero).
Grads ref_backward(const Problem& p, const std::vector<double>& dy, const std::vector<double>& dsT) {
  const int N = p.N;
  const size_t NN = size_t(N) * N;
  Grads g;
  for (auto* x : {&g.dr, &g.dw, &g.dk, &g.dv, &g.da, &g.db}) x->assign(p.x_size(), 0.0);
  g.ds0.assign(p.s0_size(), 0.0);
  std::vector<double> states, sas, G(NN), dsa(N);
  for (int bi = 0; bi < p.B; ++bi) {
    for (int h = 0; h < p.H; ++h) {
      ref_run_head(p, bi, h, states, sas, nullptr);
      if (dsT.empty()) {
        std::fill(G.begin(), G.end(), 0.0);
      } else {
        std::copy(dsT.begin() + (size_t(bi) * p.H + h) * NN, dsT.begin() + (size_t(bi) * p.H + h + 1) * NN,
                  G.begin());
      }
      for (int t = p.T - 1; t >= 0; --t) {
        const double* Sp = states.data() + t * NN;        // S_{t-1}
        const double* Sn = states.data() + (t + 1) * NN;  // S_t
        const double* sa = sas.data() + size_t(t) * N;
        auto X = [&](const std::vector<double>& x, int i) { return x[p.at(bi, t, h, i)]; };
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) G[i * N + j] += X(dy, i) * X(p.r, j);  // G += dy rᵀ
        for (int j = 0; j < N; ++j) {
          double dr = 0, dw = 0, dk = 0, db = 0;
          for (int i = 0; i < N; ++i) {
            dr += Sn[i * N + j] * X(dy, i);
            dw += G[i * N + j] * Sp[i * N + j];
            dk += G[i * N + j] * X(p.v, i);
            db += G[i * N + j] * sa[i];
          }
          g.dr[p.at(bi, t, h, j)] = dr;
          g.dw[p.at(bi, t, h, j)] = dw;
          g.dk[p.at(bi, t, h, j)] = dk;
          g.db[p.at(bi, t, h, j)] = db;
        }
        for (int i = 0; i < N; ++i) {
          double dv = 0, ds = 0;
          for (int j = 0; j < N; ++j) {
            dv += G[i * N + j] * X(p.k, j);
            ds += G[i * N + j] * X(p.b, j);
          }
          g.dv[p.at(bi, t, h, i)] = dv;
          dsa[i] = ds;
        }
        for (int j = 0; j < N; ++j) {
          double da = 0;
          for (int i = 0; i < N; ++i) da += Sp[i * N + j] * dsa[i];
          g.da[p.at(bi, t, h, j)] = da;
        }
        for (int i = 0; i < N; ++i)
          for (int j = 0; j < N; ++j) G[i * N + j] = G[i * N + j] * X(p.w, j) + dsa[i] * X(p.a, j);
      }
      double* dst = g.ds0.data() + size_t(p.shared ? h : bi * p.H + h) * NN;
      for (size_t e = 0; e < NN; ++e) dst[e] += G[e];  // shared s0: sum over the batch
    }
  }
  return g;
}

// =============================================================================================
// Inputs shaped like the model's: decay in (0.55, 1), a = -kk, b = kk·a_gate with kk a unit
// vector per (b, t, h) and a_gate in (0, 1).
// =============================================================================================
Problem make_problem(int B, int T, int H, int N, bool shared, bool with_s0, std::mt19937_64& rng) {
  Problem p;
  p.B = B, p.T = T, p.H = H, p.N = N, p.shared = shared;
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  const size_t n = p.x_size();
  p.r.resize(n), p.w.resize(n), p.k.resize(n), p.v.resize(n), p.a.resize(n), p.b.resize(n);
  for (size_t e = 0; e < n; ++e) {
    p.r[e] = 0.5 * normal(rng);
    p.k[e] = 0.5 * normal(rng);
    p.v[e] = normal(rng);
    p.w[e] = 0.55 + 0.45 * unif(rng);
  }
  std::vector<double> kk(N);
  for (int bi = 0; bi < B; ++bi)
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < H; ++h) {
        double norm2 = 0;
        for (int i = 0; i < N; ++i) norm2 += (kk[i] = normal(rng)) * kk[i];
        const double inv = 1.0 / std::sqrt(norm2);
        for (int i = 0; i < N; ++i) {
          const size_t o = p.at(bi, t, h, i);
          p.a[o] = -kk[i] * inv;
          p.b[o] = kk[i] * inv * unif(rng);
        }
      }
  if (with_s0) {
    p.s0.resize(p.s0_size());
    for (auto& x : p.s0) x = 0.5 * normal(rng);
  }
  return p;
}

std::vector<double> random_vec(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x(n);
  for (auto& e : x) e = normal(rng);
  return x;
}

using statetune::gpu_test::central_differences;
using statetune::gpu_test::dot;
using statetune::gpu_test::rel_err;

// =============================================================================================
// 1. The reference's backward against central finite differences of
//    L = Σ y·gy + Σ sT·gsT (float64; N = 4, T = 5).
// =============================================================================================
bool check_reference_fd() {
  std::mt19937_64 rng(1234);
  bool ok = true;
  double worst = 0;
  for (bool shared : {false, true}) {
    Problem p = make_problem(/*B=*/2, /*T=*/5, /*H=*/2, /*N=*/4, shared, /*with_s0=*/true, rng);
    const auto gy = random_vec(p.x_size(), rng), gsT = random_vec(p.state_size(), rng);
    const Grads g = ref_backward(p, gy, gsT);
    auto loss = [&](const Problem& q) {
      const Outputs o = ref_forward(q);
      return dot(o.y, gy) + dot(o.sT, gsT);
    };
    struct Input {
      const char* name;
      std::vector<double> Problem::*field;
      const std::vector<double>* grad;
    } inputs[] = {{"r", &Problem::r, &g.dr}, {"w", &Problem::w, &g.dw}, {"k", &Problem::k, &g.dk},
                  {"v", &Problem::v, &g.dv}, {"a", &Problem::a, &g.da}, {"b", &Problem::b, &g.db},
                  {"s0", &Problem::s0, &g.ds0}};
    constexpr double kStep = 1e-5;  // truncation O(h^2) ~ 1e-10, cancellation ~ 1e-16 / h ~ 1e-11
    for (const Input& in : inputs) {
      Problem q = p;
      const std::vector<double> fd = central_differences(q.*in.field, kStep, [&] { return loss(q); });
      const double err = rel_err(*in.grad, fd);
      worst = std::max(worst, err);
      if (!(err < 1e-7)) {
        std::printf("FD check FAILED: d%s (%s s0): rel err %.3e\n", in.name, shared ? "shared" : "per-batch", err);
        ok = false;
      }
    }
  }
  std::printf("reference vs finite differences (N=4, T=5, B=2, H=2): worst rel err %.3e -> %s\n", worst,
              ok ? "ok" : "FAILED");
  return ok;
}

// =============================================================================================
// 3. GPU vs reference
// =============================================================================================
const char* dtype_name(Wkv7DType d) {
  return d == Wkv7DType::kF32 ? "fp32" : d == Wkv7DType::kBF16 ? "bf16" : "fp16";
}

// Round a value to what the input dtype can hold (what the GPU will see).
double round_to(Wkv7DType d, double x) {
  const float f = static_cast<float>(x);
  switch (d) {
    case Wkv7DType::kBF16: return __bfloat162float(__float2bfloat16_rn(f));
    case Wkv7DType::kF16: return __half2float(__float2half_rn(f));
    default: return f;
  }
}
void round_all(Wkv7DType d, std::vector<double>& x) {
  for (auto& e : x) e = round_to(d, e);
}

size_t dtype_bytes(Wkv7DType d) { return d == Wkv7DType::kF32 ? 4 : 2; }

// A device buffer that frees itself.
struct DevBuf {
  void* p = nullptr;
  explicit DevBuf(size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMalloc(&p, bytes));
  }
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  float* f() const { return static_cast<float*>(p); }
};

// Upload x as `d` (already representable) / download as double.
void upload(Wkv7DType d, const std::vector<double>& x, void* dst) {
  std::vector<unsigned char> host(x.size() * dtype_bytes(d));
  for (size_t e = 0; e < x.size(); ++e) {
    const float f = static_cast<float>(x[e]);
    if (d == Wkv7DType::kF32) reinterpret_cast<float*>(host.data())[e] = f;
    if (d == Wkv7DType::kBF16) reinterpret_cast<__nv_bfloat16*>(host.data())[e] = __float2bfloat16_rn(f);
    if (d == Wkv7DType::kF16) reinterpret_cast<__half*>(host.data())[e] = __float2half_rn(f);
  }
  CUDA_CHECK(cudaMemcpy(dst, host.data(), host.size(), cudaMemcpyHostToDevice));
}
std::vector<double> download(Wkv7DType d, const void* src, size_t n) {
  std::vector<unsigned char> host(n * dtype_bytes(d));
  CUDA_CHECK(cudaMemcpy(host.data(), src, host.size(), cudaMemcpyDeviceToHost));
  std::vector<double> x(n);
  for (size_t e = 0; e < n; ++e) {
    if (d == Wkv7DType::kF32) x[e] = reinterpret_cast<const float*>(host.data())[e];
    if (d == Wkv7DType::kBF16) x[e] = __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(host.data())[e]);
    if (d == Wkv7DType::kF16) x[e] = __half2float(reinterpret_cast<const __half*>(host.data())[e]);
  }
  return x;
}

constexpr double kTolAccum = 1e-5;
double tolerance(Wkv7DType d, bool stored_in_input_dtype) {
  if (!stored_in_input_dtype || d == Wkv7DType::kF32) return kTolAccum;
  const double u = d == Wkv7DType::kBF16 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
  return u + kTolAccum;
}

struct Worst {
  double ratio = 0, err = 0, tol = 0;  // ratio = err / tol: fp32 and bf16 cases share one table
  std::string where;
};

struct Case {
  int B, T, H, N;
  bool shared;
  Wkv7DType dtype;
  bool with_dsT;
};

// Returns the number of outputs out of tolerance.
int run_case(const Case& c, std::mt19937_64& rng, Worst (&worst)[9]) {
  Problem p = make_problem(c.B, c.T, c.H, c.N, c.shared, /*with_s0=*/true, rng);
  for (auto* x : {&p.r, &p.w, &p.k, &p.v, &p.a, &p.b}) round_all(c.dtype, *x);
  round_all(Wkv7DType::kF32, p.s0);  // the state is fp32 on the GPU
  auto dy = random_vec(p.x_size(), rng);
  round_all(c.dtype, dy);
  std::vector<double> dsT;
  if (c.with_dsT) {
    dsT = random_vec(p.state_size(), rng);
    round_all(Wkv7DType::kF32, dsT);
  }
  const Outputs ref = ref_forward(p);
  const Grads gref = ref_backward(p, dy, dsT);

  using namespace statetune::kernels;
  const auto ws = wkv7_cuda_workspace_sizes(c.B, c.T, c.H, c.N);
  const size_t xb = p.x_size() * dtype_bytes(c.dtype);
  DevBuf r(xb), w(xb), k(xb), v(xb), a(xb), b(xb), y(xb), dyd(xb);
  DevBuf dr(xb), dw(xb), dk(xb), dv(xb), da(xb), db(xb);
  DevBuf s0(p.s0_size() * 4), sT(p.state_size() * 4), dsTd(dsT.size() * 4), ds0(p.s0_size() * 4);
  DevBuf ckpt(ws.checkpoints_bytes), sa(ws.sa_bytes), scratch(ws.backward_scratch_bytes);
  upload(c.dtype, p.r, r.p), upload(c.dtype, p.w, w.p), upload(c.dtype, p.k, k.p);
  upload(c.dtype, p.v, v.p), upload(c.dtype, p.a, a.p), upload(c.dtype, p.b, b.p);
  upload(c.dtype, dy, dyd.p);
  upload(Wkv7DType::kF32, p.s0, s0.p);
  if (c.with_dsT) upload(Wkv7DType::kF32, dsT, dsTd.p);

  Wkv7ForwardParams fp;
  fp.dtype = c.dtype, fp.B = c.B, fp.T = c.T, fp.H = c.H, fp.N = c.N;
  fp.r = r.p, fp.w = w.p, fp.k = k.p, fp.v = v.p, fp.a = a.p, fp.b = b.p;
  fp.s0 = s0.f(), fp.s0_shared = c.shared, fp.y = y.p, fp.sT = sT.f();
  fp.checkpoints = ckpt.f(), fp.sa = sa.f();
  CUDA_CHECK(wkv7_forward_cuda(fp, nullptr));

  Wkv7BackwardParams bp;
  bp.dtype = c.dtype, bp.B = c.B, bp.T = c.T, bp.H = c.H, bp.N = c.N;
  bp.r = r.p, bp.w = w.p, bp.k = k.p, bp.v = v.p, bp.a = a.p, bp.b = b.p;
  bp.checkpoints = ckpt.f(), bp.sa = sa.f(), bp.dy = dyd.p, bp.dsT = c.with_dsT ? dsTd.f() : nullptr;
  bp.s0_shared = c.shared;
  bp.dr = dr.p, bp.dw = dw.p, bp.dk = dk.p, bp.dv = dv.p, bp.da = da.p, bp.db = db.p, bp.ds0 = ds0.f();
  bp.backward_scratch = scratch.f();
  CUDA_CHECK(wkv7_backward_cuda(bp, nullptr));
  CUDA_CHECK(cudaDeviceSynchronize());

  const size_t nx = p.x_size();
  struct Cmp {
    const char* name;
    std::vector<double> got;
    const std::vector<double>* ref;
    bool in_dtype;
  } cmps[] = {
      {"y", download(c.dtype, y.p, nx), &ref.y, true},
      {"sT", download(Wkv7DType::kF32, sT.p, p.state_size()), &ref.sT, false},
      {"dr", download(c.dtype, dr.p, nx), &gref.dr, true},
      {"dw", download(c.dtype, dw.p, nx), &gref.dw, true},
      {"dk", download(c.dtype, dk.p, nx), &gref.dk, true},
      {"dv", download(c.dtype, dv.p, nx), &gref.dv, true},
      {"da", download(c.dtype, da.p, nx), &gref.da, true},
      {"db", download(c.dtype, db.p, nx), &gref.db, true},
      {"ds0", download(Wkv7DType::kF32, ds0.p, p.s0_size()), &gref.ds0, false},
  };
  char where[160];
  std::snprintf(where, sizeof where, "N=%d T=%d B=%d H=%d %s s0 %s%s", c.N, c.T, c.B, c.H,
                c.shared ? "shared" : "per-batch", dtype_name(c.dtype), c.with_dsT ? " +dsT" : "");
  int failures = 0;
  for (int m = 0; m < 9; ++m) {
    const double err = rel_err(cmps[m].got, *cmps[m].ref);
    const double tol = tolerance(c.dtype, cmps[m].in_dtype);
    if (err / tol > worst[m].ratio) worst[m] = {err / tol, err, tol, where};
    if (!(err <= tol)) {
      std::printf("MISMATCH %-3s %s: rel err %.3e > tol %.3e\n", cmps[m].name, where, err, tol);
      ++failures;
    }
  }
  return failures;
}

// The launchers must refuse bad arguments without launching.
int check_argument_errors() {
  using namespace statetune::kernels;
  int failures = 0;
  DevBuf buf(1 << 16);
  Wkv7ForwardParams fp;
  fp.B = 1, fp.T = 4, fp.H = 1, fp.N = 64;
  fp.r = fp.w = fp.k = fp.v = fp.a = fp.b = buf.p;
  fp.y = buf.p;
  auto expect_invalid = [&](const char* what, cudaError_t e) {
    if (e != cudaErrorInvalidValue) {
      std::printf("argument check '%s': got %s, expected cudaErrorInvalidValue\n", what, cudaGetErrorName(e));
      ++failures;
    }
  };
  Wkv7ForwardParams bad = fp;
  bad.N = 48;
  expect_invalid("forward N=48", wkv7_forward_cuda(bad, nullptr));
  bad = fp, bad.T = 0;
  expect_invalid("forward T=0", wkv7_forward_cuda(bad, nullptr));
  bad = fp, bad.y = nullptr;
  expect_invalid("forward y=null", wkv7_forward_cuda(bad, nullptr));
  Wkv7BackwardParams bp;
  bp.B = 1, bp.T = 4, bp.H = 1, bp.N = 64;
  bp.r = bp.w = bp.k = bp.v = bp.a = bp.b = bp.dy = buf.p;
  bp.checkpoints = bp.sa = buf.f();
  expect_invalid("backward scratch=null", wkv7_backward_cuda(bp, nullptr));
  return failures;
}

}  // namespace

int main() {
  if (!check_reference_fd()) return 1;

  if (!statetune::gpu_test::announce_gpu()) return 77;

  int failures = check_argument_errors();
  std::mt19937_64 rng(42);
  Worst worst[3][9];  // [dtype][output]
  int n_cases = 0;
  const int H = 2;
  for (Wkv7DType dt : {Wkv7DType::kF32, Wkv7DType::kBF16})
    for (int N : {16, 32, 64, 128})
      for (int T : {1, 17, 64, 300})
        for (int B : {1, 3})
          for (bool shared : {false, true}) {
            // Half of the cases also feed a gradient of the final state.
            const bool with_dsT = ((N / 16 + T + B) & 1) != 0;
            failures += run_case({B, T, H, N, shared, dt, with_dsT}, rng, worst[int(dt)]);
            ++n_cases;
          }
  for (int N : {64, 128}) {  // fp16 inputs: the same code path with another conversion
    failures += run_case({3, 64, H, N, true, Wkv7DType::kF16, true}, rng, worst[int(Wkv7DType::kF16)]);
    ++n_cases;
  }

  const char* names[9] = {"y", "sT", "dr", "dw", "dk", "dv", "da", "db", "ds0"};
  std::printf("%d cases; largest relative norm error per input dtype and output:\n", n_cases);
  for (Wkv7DType dt : {Wkv7DType::kF32, Wkv7DType::kBF16, Wkv7DType::kF16})
    for (int m = 0; m < 9; ++m) {
      const Worst& wst = worst[int(dt)][m];
      std::printf("  %s %-3s %.3e (tol %.1e, %.2f of it)  %s\n", dtype_name(dt), names[m], wst.err, wst.tol,
                  wst.ratio, wst.where.c_str());
    }
  std::printf("%s\n", statetune::gpu_test::verdict(failures == 0));
  return failures == 0 ? 0 : 1;
}
