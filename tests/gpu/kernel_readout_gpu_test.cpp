// test_gpu_kernel_readout: the kernel read-out CUDA kernels (kernels/cuda/kernel_readout_cuda.cuh)
// against a float64 CPU reference, llm.c style: the reference is plain loops beside the
// comparison (no torch, no gtest).
//
//  1. Checks the reference's own backward (dq, dS0, dŜ) against central finite differences
//     (float64, tiny N = 4, M = 3, unit and non-unit support vectors). Runs without a GPU.
//  2. Without a GPU: prints "no GPU: skipped" and exits 77 (ctest SKIP_RETURN_CODE).
//  3. Runs forward + backward on the GPU for N ∈ {16,32,64,128} × M ∈ {8,33,128,256} ×
//     T ∈ {1,17,300}, with B ∈ {1,3}, S0 present/absent and z wanted/not wanted alternating
//     over the cases (every combination of the three flags occurs), plus M = 512, a case with
//     exact zero (and tiny) queries, the argument checks, a run with only some gradients
//     wanted, and a determinism check (two runs bit-identical, the second on a workspace filled
//     with garbage). Every output is compared by relative norm error ‖x − ref‖ / ‖ref‖.
//
// The inputs handed to the reference are exactly the fp32 values the GPU sees, so only the
// kernels' fp32 arithmetic differs. Tolerance 1e-5 for every output (o, z, dq, dS0, dŜ):
//   * each output is an fp32 sum of at most max(N, M) ≤ 512 products per stage (three stages
//     for o = (QŜR)φ and dŜ = Qᵀ(Σ d_o φᵀ)Rᵀ); rounding errors of random sign grow like
//     √K·2^-24 ≈ 1.3e-6 per stage in the worst case here, and less in norm;
//   * e = exp(−γ d²) with d² = ‖u − c‖² summed in fp32 over N terms: relative error about
//     γ·d²·√N·2^-24, i.e. up to ~1e-6 for the far support vectors (γ ≤ 4, d² ≈ 2, N = 128),
//     much less for the near ones that dominate φ; plus expf's 2 ulp;
//   * the token sums (dS0, dŜ over up to B·T = 900 tokens) are blocked (tiles of 16/32, then
//     tiles, then slices), so their error grows like log, not like √(B·T).
// The measured errors are printed: up to ~1e-6 (o, z, dq, dŜ; the few-token cases with a large
// γ) and ~2e-7 (dS0) in a CPU emulation of these kernels; 1e-5 leaves a margin of ~10× for the
// GPU's expf / FMA contraction while still catching any indexing or formula error (those give
// errors of order 1).
//
// Built twice (tests/CMakeLists.txt): test_gpu_kernel_readout with nvcc and cudart, and
// test_gpu_kernel_readout_emulated against the CPU emulation of tests/gpu/emulation (the same
// kernel sources as C++, no GPU needed), which runs the same cases and says that it is not a GPU.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "kernel_readout_cuda.cuh"
#include "wkv7_cuda.cuh"  // wkv7_cuda_device_count()

namespace {


constexpr double kEps = 1e-12;  // == kKernelReadoutEps

// =============================================================================================
// Reference: float64 loops, the formulas of kernel_readout.h.
// =============================================================================================
struct Problem {
  int B = 1, T = 1, H = 1, N = 4, M = 3;
  bool with_s0 = true;
  std::vector<double> q;      // [B, T, H, N]
  std::vector<double> S0;     // [H, N, N] (empty: no S0)
  std::vector<double> C;      // [H, M, N]
  std::vector<double> gamma;  // [H]
  std::vector<double> R;      // [H, M, M]
  std::vector<double> Shat;   // [H, M, M]
  std::vector<double> Q;      // [H, N, M]
  size_t tokens() const { return size_t(B) * T; }
  size_t x_size() const { return tokens() * H * N; }
  size_t z_size() const { return tokens() * H * M; }
};

struct Outputs {
  std::vector<double> o, z;  // [B, T, H, N], [B, T, H, M]
};

struct Grads {
  std::vector<double> dq;      // [B, T, H, N]
  std::vector<double> dS0;     // [H, N, N] (Σ d_o qᵀ, whether or not S0 is present)
  std::vector<double> dS_hat;  // [H, M, M]
};

// Per token and head: n, u, e, φ, z.
struct Features {
  double n = 0;
  bool has_dir = false;
  std::vector<double> u, e, phi, z;
};

Features features(const Problem& p, const double* q, int h) {
  const int N = p.N, M = p.M;
  Features f;
  f.u.assign(N, 0.0), f.e.assign(M, 0.0), f.phi.assign(M, 0.0), f.z.assign(M, 0.0);
  double nn = 0;
  for (int j = 0; j < N; ++j) nn += q[j] * q[j];
  f.n = std::sqrt(nn);
  f.has_dir = f.n > kEps;
  if (!f.has_dir) return f;
  for (int j = 0; j < N; ++j) f.u[j] = q[j] / f.n;
  const double* C = p.C.data() + size_t(h) * M * N;
  for (int m = 0; m < M; ++m) {
    double d2 = 0;  // ‖u − c_m‖², the direct form
    for (int j = 0; j < N; ++j) d2 += (f.u[j] - C[m * N + j]) * (f.u[j] - C[m * N + j]);
    f.e[m] = std::exp(-p.gamma[h] * d2);
    f.phi[m] = f.n * f.e[m];
  }
  const double* R = p.R.data() + size_t(h) * M * M;
  for (int i = 0; i < M; ++i) {
    double acc = 0;
    for (int m = 0; m < M; ++m) acc += R[i * M + m] * f.phi[m];
    f.z[i] = acc;
  }
  return f;
}

Outputs ref_forward(const Problem& p) {
  const int N = p.N, M = p.M;
  Outputs out;
  out.o.assign(p.x_size(), 0.0);
  out.z.assign(p.z_size(), 0.0);
  std::vector<double> sz(M);
  for (size_t bt = 0; bt < p.tokens(); ++bt)
    for (int h = 0; h < p.H; ++h) {
      const size_t tok = bt * p.H + h;
      const double* q = p.q.data() + tok * N;
      const Features f = features(p, q, h);
      std::copy(f.z.begin(), f.z.end(), out.z.begin() + tok * M);
      const double* Sh = p.Shat.data() + size_t(h) * M * M;
      for (int a = 0; a < M; ++a) {
        double acc = 0;
        for (int m = 0; m < M; ++m) acc += Sh[a * M + m] * f.z[m];
        sz[a] = acc;  // Ŝ z
      }
      const double* Qh = p.Q.data() + size_t(h) * N * M;
      for (int i = 0; i < N; ++i) {
        double acc = 0;
        if (p.with_s0)
          for (int j = 0; j < N; ++j) acc += p.S0[(size_t(h) * N + i) * N + j] * q[j];
        for (int a = 0; a < M; ++a) acc += Qh[i * M + a] * sz[a];
        out.o[tok * N + i] = acc;
      }
    }
  return out;
}

// dq uses the unsimplified chain rule ∂φ_m/∂q = e_m u − 2γ e_m (I − u uᵀ)(u − c_m), so it also
// checks the kernels' simplified form u + 2γ(c_m − (u·c_m) u).
Grads ref_backward(const Problem& p, const std::vector<double>& d_o) {
  const int N = p.N, M = p.M;
  Grads g;
  g.dq.assign(p.x_size(), 0.0);
  g.dS0.assign(size_t(p.H) * N * N, 0.0);
  g.dS_hat.assign(size_t(p.H) * M * M, 0.0);
  std::vector<double> qtdo(M), gz(M), gphi(M), uc(N);
  for (size_t bt = 0; bt < p.tokens(); ++bt)
    for (int h = 0; h < p.H; ++h) {
      const size_t tok = bt * p.H + h;
      const double *q = p.q.data() + tok * N, *dot = d_o.data() + tok * N;
      const double* Qh = p.Q.data() + size_t(h) * N * M;
      const double* Sh = p.Shat.data() + size_t(h) * M * M;
      const double* Rh = p.R.data() + size_t(h) * M * M;
      const double* Ch = p.C.data() + size_t(h) * M * N;
      const double gam = p.gamma[h];
      const Features f = features(p, q, h);
      double* dq = g.dq.data() + tok * N;
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) {
          g.dS0[(size_t(h) * N + i) * N + j] += dot[i] * q[j];
          if (p.with_s0) dq[j] += p.S0[(size_t(h) * N + i) * N + j] * dot[i];
        }
      for (int a = 0; a < M; ++a) {
        double acc = 0;
        for (int i = 0; i < N; ++i) acc += Qh[i * M + a] * dot[i];
        qtdo[a] = acc;  // Qᵀ d_o
      }
      for (int a = 0; a < M; ++a)
        for (int m = 0; m < M; ++m) g.dS_hat[(size_t(h) * M + a) * M + m] += qtdo[a] * f.z[m];
      if (!f.has_dir) continue;  // q → 0 convention: no feature term
      for (int m = 0; m < M; ++m) {
        double acc = 0;
        for (int a = 0; a < M; ++a) acc += Sh[a * M + m] * qtdo[a];
        gz[m] = acc;  // Ŝᵀ Qᵀ d_o
      }
      for (int m = 0; m < M; ++m) {
        double acc = 0;
        for (int i = 0; i < M; ++i) acc += Rh[i * M + m] * gz[i];
        gphi[m] = acc;  // Rᵀ gz
      }
      for (int m = 0; m < M; ++m) {
        const double* c = Ch + size_t(m) * N;
        double u_dot_uc = 0;  // u·(u − c)
        for (int j = 0; j < N; ++j) u_dot_uc += f.u[j] * (f.u[j] - c[j]);
        for (int i = 0; i < N; ++i) {
          const double proj = (f.u[i] - c[i]) - f.u[i] * u_dot_uc;  // [(I − u uᵀ)(u − c)]_i
          dq[i] += gphi[m] * f.e[m] * (f.u[i] - 2.0 * gam * proj);
        }
      }
    }
  return g;
}

// =============================================================================================
// Inputs shaped like the model's (METHOD.md §2): query norms spread over ~2 decades, support
// vectors = unit vectors, half of them near query directions (so some features are ≈ n),
// γ ∈ [0.1, 4], R = I + small noise (DBP-like), Ŝ random, Q ~ N(0, 1/M). Everything is
// rounded to fp32 first (what the GPU sees).
// =============================================================================================
double f32(double x) { return static_cast<double>(static_cast<float>(x)); }

Problem make_problem(int B, int T, int H, int N, int M, bool with_s0, std::mt19937_64& rng, bool unit_c = true) {
  Problem p;
  p.B = B, p.T = T, p.H = H, p.N = N, p.M = M, p.with_s0 = with_s0;
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unif(0.0, 1.0);
  p.q.resize(p.x_size());
  for (size_t tok = 0; tok < p.tokens() * H; ++tok) {
    const double scale = std::exp(2.0 * normal(rng)) / std::sqrt(double(N));
    for (int j = 0; j < N; ++j) p.q[tok * N + j] = f32(scale * normal(rng));
  }
  p.C.resize(size_t(H) * M * N);
  std::uniform_int_distribution<size_t> pick(0, p.tokens() - 1);
  for (int h = 0; h < H; ++h)
    for (int m = 0; m < M; ++m) {
      double* c = p.C.data() + (size_t(h) * M + m) * N;
      const bool near_q = unit_c && (m % 2 == 0);
      const double* src = p.q.data() + (pick(rng) * H + h) * N;
      double ns = 0, nn = 0;
      for (int j = 0; j < N; ++j) ns += src[j] * src[j];
      ns = std::sqrt(ns) + 1e-300;
      for (int j = 0; j < N; ++j) {  // near_q: a query direction plus noise of norm ~0.3
        c[j] = near_q ? src[j] / ns + 0.3 / std::sqrt(double(N)) * normal(rng) : normal(rng);
        nn += c[j] * c[j];
      }
      const double inv = unit_c ? 1.0 / std::sqrt(nn) : 0.7 / std::sqrt(double(N));
      for (int j = 0; j < N; ++j) c[j] = f32(c[j] * inv);
    }
  p.gamma.resize(H);
  for (auto& g : p.gamma) g = f32(0.1 + 3.9 * unif(rng));
  p.R.resize(size_t(H) * M * M);
  p.Shat.resize(size_t(H) * M * M);
  for (int h = 0; h < H; ++h)
    for (int i = 0; i < M; ++i)
      for (int m = 0; m < M; ++m) {
        const size_t e = (size_t(h) * M + i) * M + m;
        p.R[e] = f32((i == m ? 1.0 : 0.0) + 0.3 * normal(rng) / std::sqrt(double(M)));
        p.Shat[e] = f32(0.5 * normal(rng));
      }
  p.Q.resize(size_t(H) * N * M);
  for (auto& x : p.Q) x = f32(normal(rng) / std::sqrt(double(M)));
  if (with_s0) {
    p.S0.resize(size_t(H) * N * N);
    for (auto& x : p.S0) x = f32(0.5 * normal(rng));
  }
  return p;
}

std::vector<double> random_vec(size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> x(n);
  for (auto& e : x) e = f32(normal(rng));
  return x;
}

using statetune::gpu_test::central_differences;
using statetune::gpu_test::dot;
using statetune::gpu_test::rel_err;

// =============================================================================================
// 1. The reference's backward against central finite differences of L = Σ o·g_o + Σ z·g_z
//    (z has no gradient path: g_z must not matter, so it is included to prove that).
// =============================================================================================
bool check_reference_fd() {
  std::mt19937_64 rng(1234);
  bool ok = true;
  double worst = 0;
  for (bool unit_c : {true, false}) {
    Problem p = make_problem(/*B=*/2, /*T=*/3, /*H=*/2, /*N=*/4, /*M=*/3, /*with_s0=*/true, rng, unit_c);
    for (auto& x : p.q) x *= 4.0;  // query norms ≫ the FD step
    const auto go = random_vec(p.x_size(), rng);
    const Grads g = ref_backward(p, go);
    auto loss = [&](const Problem& pp) { return dot(ref_forward(pp).o, go); };
    struct Input {
      const char* name;
      std::vector<double> Problem::*field;
      const std::vector<double>* grad;
    } inputs[] = {{"q", &Problem::q, &g.dq}, {"S0", &Problem::S0, &g.dS0}, {"S_hat", &Problem::Shat, &g.dS_hat}};
    constexpr double kStep = 1e-6;  // truncation O(h²) ~ 1e-12, cancellation ~ 1e-16 / h ~ 1e-10
    for (const Input& in : inputs) {
      Problem pp = p;
      const std::vector<double> fd = central_differences(pp.*in.field, kStep, [&] { return loss(pp); });
      const double err = rel_err(*in.grad, fd);
      worst = std::max(worst, err);
      if (!(err < 1e-7)) {
        std::printf("FD check FAILED: d%s (%s c): rel err %.3e\n", in.name, unit_c ? "unit" : "non-unit", err);
        ok = false;
      }
    }
  }
  std::printf("reference vs finite differences (N=4, M=3, T=3, B=2, H=2; unit and non-unit c): "
              "worst rel err %.3e -> %s\n",
              worst, ok ? "ok" : "FAILED");
  return ok;
}

// =============================================================================================
// 3. GPU vs reference
// =============================================================================================
// A device buffer that frees itself.
struct DevBuf {
  float* p = nullptr;
  size_t n = 0;
  explicit DevBuf(size_t count) : n(count) {
    if (n) CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(float)));
  }
  ~DevBuf() {
    if (p) cudaFree(p);
  }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

void upload(const std::vector<double>& x, float* dst) {
  std::vector<float> host(x.begin(), x.end());
  if (!host.empty()) CUDA_CHECK(cudaMemcpy(dst, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice));
}
std::vector<float> download_raw(const float* src, size_t n) {
  std::vector<float> host(n);
  if (n) CUDA_CHECK(cudaMemcpy(host.data(), src, n * sizeof(float), cudaMemcpyDeviceToHost));
  return host;
}
std::vector<double> download(const float* src, size_t n) {
  const auto host = download_raw(src, n);
  return std::vector<double>(host.begin(), host.end());
}

// The problem on the device, plus every output buffer.
struct DeviceProblem {
  DevBuf q, S0, C, gamma, R, Shat, Q, d_o, o, z, dq, dS0, dS_hat, ws;
  DeviceProblem(const Problem& p, const std::vector<double>& dov)
      : q(p.x_size()), S0(p.S0.size()), C(p.C.size()), gamma(p.gamma.size()), R(p.R.size()), Shat(p.Shat.size()),
        Q(p.Q.size()), d_o(p.x_size()), o(p.x_size()), z(p.z_size()), dq(p.x_size()),
        dS0(size_t(p.H) * p.N * p.N), dS_hat(size_t(p.H) * p.M * p.M),
        ws(statetune::kernels::kernel_readout_cuda_workspace_bytes(p.B, p.T, p.H, p.N, p.M) / sizeof(float)) {
    upload(p.q, q.p), upload(p.S0, S0.p), upload(p.C, C.p), upload(p.gamma, gamma.p), upload(p.R, R.p);
    upload(p.Shat, Shat.p), upload(p.Q, Q.p), upload(dov, d_o.p);
  }
};

statetune::kernels::KernelReadoutForwardParams forward_params(const Problem& p, const DeviceProblem& d,
                                                              bool with_z) {
  statetune::kernels::KernelReadoutForwardParams fp;
  fp.B = p.B, fp.T = p.T, fp.H = p.H, fp.N = p.N, fp.M = p.M;
  fp.q = d.q.p, fp.S0 = p.with_s0 ? d.S0.p : nullptr, fp.C = d.C.p, fp.gamma = d.gamma.p, fp.R = d.R.p;
  fp.S_hat = d.Shat.p, fp.Q = d.Q.p, fp.o = d.o.p, fp.z = with_z ? d.z.p : nullptr, fp.workspace = d.ws.p;
  return fp;
}

statetune::kernels::KernelReadoutBackwardParams backward_params(const Problem& p, const DeviceProblem& d) {
  statetune::kernels::KernelReadoutBackwardParams bp;
  bp.B = p.B, bp.T = p.T, bp.H = p.H, bp.N = p.N, bp.M = p.M;
  bp.q = d.q.p, bp.S0 = p.with_s0 ? d.S0.p : nullptr, bp.C = d.C.p, bp.gamma = d.gamma.p, bp.R = d.R.p;
  bp.S_hat = d.Shat.p, bp.Q = d.Q.p, bp.d_o = d.d_o.p;
  bp.dq = d.dq.p, bp.dS0 = p.with_s0 ? d.dS0.p : nullptr, bp.dS_hat = d.dS_hat.p, bp.workspace = d.ws.p;
  return bp;
}

constexpr double kTol = 1e-5;
constexpr int kOutputs = 5;
const char* const kNames[kOutputs] = {"o", "z", "dq", "dS0", "dS_hat"};

struct Worst {
  double err = 0;
  std::string where;
};

struct Case {
  int B, T, H, N, M;
  bool with_s0, with_z;
  int zero_every = 0;  // > 0: every zero_every-th (token, head) gets q = 0 (and one a tiny q)
};

std::string describe(const Case& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "N=%d M=%d T=%d B=%d H=%d%s%s%s", c.N, c.M, c.T, c.B, c.H,
                c.with_s0 ? " +S0" : "", c.with_z ? " +z" : "", c.zero_every ? " zero-q" : "");
  return buf;
}

// Returns the number of outputs out of tolerance (or NaN-containing).
int run_case(const Case& c, std::mt19937_64& rng, Worst (&worst)[kOutputs]) {
  Problem p = make_problem(c.B, c.T, c.H, c.N, c.M, c.with_s0, rng);
  if (c.zero_every > 0) {
    const size_t n_tok = p.tokens() * p.H;
    for (size_t tok = 0; tok < n_tok; tok += c.zero_every) std::fill_n(p.q.begin() + tok * p.N, p.N, 0.0);
    // Below the threshold though representable: no direction either (n = 1e-30·√N ≤ 1e-12).
    if (n_tok > 1) std::fill_n(p.q.begin() + 1 * p.N, p.N, f32(1e-30));
  }
  const auto d_o = random_vec(p.x_size(), rng);
  const Outputs ref = ref_forward(p);
  const Grads gref = ref_backward(p, d_o);

  using namespace statetune::kernels;
  DeviceProblem d(p, d_o);
  CUDA_CHECK(kernel_readout_forward_cuda(forward_params(p, d, c.with_z), nullptr));
  CUDA_CHECK(kernel_readout_backward_cuda(backward_params(p, d), nullptr));
  CUDA_CHECK(cudaDeviceSynchronize());

  struct Cmp {
    bool active;
    std::vector<double> got;
    const std::vector<double>* ref;
  } cmps[kOutputs] = {
      {true, download(d.o.p, p.x_size()), &ref.o},
      {c.with_z, c.with_z ? download(d.z.p, p.z_size()) : std::vector<double>(), &ref.z},
      {true, download(d.dq.p, p.x_size()), &gref.dq},
      {c.with_s0, c.with_s0 ? download(d.dS0.p, d.dS0.n) : std::vector<double>(), &gref.dS0},
      {true, download(d.dS_hat.p, d.dS_hat.n), &gref.dS_hat},
  };
  const std::string where = describe(c);
  int failures = 0;
  for (int k = 0; k < kOutputs; ++k) {
    if (!cmps[k].active) continue;
    const double err = rel_err(cmps[k].got, *cmps[k].ref);
    if (!std::isnan(worst[k].err) && !(err <= worst[k].err)) worst[k] = {err, where};  // a NaN sticks
    if (!(err <= kTol)) {
      std::printf("MISMATCH %-6s %s: rel err %.3e > tol %.1e\n", kNames[k], where.c_str(), err, kTol);
      ++failures;
    }
  }
  if (c.zero_every > 0) {
    // Tokens without a direction: z = 0 exactly, and dq = S0ᵀ d_o (no feature term): exactly 0
    // without S0, else within the tolerance on those tokens alone.
    std::vector<double> got_dq, ref_dq;
    bool exact = true;
    for (size_t tok = 0; tok < p.tokens() * p.H; tok += c.zero_every) {
      for (int j = 0; j < p.N; ++j) {
        got_dq.push_back(cmps[2].got[tok * p.N + j]);
        ref_dq.push_back(gref.dq[tok * p.N + j]);
        if (!c.with_s0) exact = exact && got_dq.back() == 0.0;
      }
      if (c.with_z)
        for (int m = 0; m < p.M; ++m) exact = exact && cmps[1].got[tok * p.M + m] == 0.0;
    }
    const double err = rel_err(got_dq, ref_dq);
    if (!(err <= kTol) || !exact) {
      std::printf("MISMATCH zero-q tokens %s: dq rel err %.3e, exact zeros (z%s): %s\n", where.c_str(), err,
                  c.with_s0 ? "" : " and dq", exact ? "yes" : "NO");
      ++failures;
    }
  }
  return failures;
}

// Two runs of the same problem must give bit-identical outputs (no atomics, fixed partition),
// also when the workspace holds garbage before the second run; and a backward that wants only
// dŜ must give the same dŜ bits as the full one.
int check_determinism(std::mt19937_64& rng) {
  using namespace statetune::kernels;
  int failures = 0;
  struct Size {
    int B, T, H, N, M;
  };
  // The second size has several tiles per backward slice (S = 512 / H = 4 slices, 19 tiles).
  for (const Size& sz : {Size{3, 300, 4, 64, 128}, Size{3, 100, 128, 128, 40}}) {
    const Problem p = make_problem(sz.B, sz.T, sz.H, sz.N, sz.M, /*with_s0=*/true, rng);
    const auto d_o = random_vec(p.x_size(), rng);
    DeviceProblem d(p, d_o);
    std::vector<std::vector<float>> runs[2];
    for (int run = 0; run < 2; ++run) {
      // The second run starts each launcher on a workspace full of NaN garbage: neither may
      // depend on what an earlier call left there.
      if (run == 1) CUDA_CHECK(cudaMemset(d.ws.p, 0xff, d.ws.n * sizeof(float)));
      CUDA_CHECK(kernel_readout_forward_cuda(forward_params(p, d, true), nullptr));
      if (run == 1) CUDA_CHECK(cudaMemset(d.ws.p, 0xff, d.ws.n * sizeof(float)));
      CUDA_CHECK(kernel_readout_backward_cuda(backward_params(p, d), nullptr));
      CUDA_CHECK(cudaDeviceSynchronize());
      runs[run] = {download_raw(d.o.p, d.o.n), download_raw(d.z.p, d.z.n), download_raw(d.dq.p, d.dq.n),
                   download_raw(d.dS0.p, d.dS0.n), download_raw(d.dS_hat.p, d.dS_hat.n)};
    }
    for (int k = 0; k < kOutputs; ++k)
      if (runs[0][k].size() != runs[1][k].size() ||
          std::memcmp(runs[0][k].data(), runs[1][k].data(), runs[0][k].size() * sizeof(float)) != 0) {
        std::printf("DETERMINISM: %s differs between two runs (N=%d H=%d)\n", kNames[k], sz.N, sz.H);
        ++failures;
      }
    // Only dŜ wanted (no dq, no dS0): same bits.
    CUDA_CHECK(cudaMemset(d.dS_hat.p, 0, d.dS_hat.n * sizeof(float)));
    KernelReadoutBackwardParams bp = backward_params(p, d);
    bp.dq = nullptr, bp.dS0 = nullptr;
    CUDA_CHECK(kernel_readout_backward_cuda(bp, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    const auto only = download_raw(d.dS_hat.p, d.dS_hat.n);
    if (std::memcmp(only.data(), runs[0][4].data(), only.size() * sizeof(float)) != 0) {
      std::printf("DETERMINISM: dS_hat differs when dq and dS0 are not wanted (N=%d H=%d)\n", sz.N, sz.H);
      ++failures;
    }
  }
  std::printf("determinism (two runs, garbage workspace, partial outputs; N=64 H=4 and N=128 H=128): %s\n",
              failures == 0 ? "bit-identical" : "FAILED");
  return failures;
}

// The launchers must refuse bad arguments without launching.
int check_argument_errors() {
  using namespace statetune::kernels;
  int failures = 0;
  DevBuf buf(1 << 20);
  KernelReadoutForwardParams fp;
  fp.B = 1, fp.T = 4, fp.H = 1, fp.N = 64, fp.M = 32;
  fp.q = fp.C = fp.gamma = fp.R = fp.S_hat = fp.Q = buf.p;
  fp.o = fp.workspace = buf.p;
  auto expect_invalid = [&](const char* what, cudaError_t e) {
    if (e != cudaErrorInvalidValue) {
      std::printf("argument check '%s': got %s, expected cudaErrorInvalidValue\n", what, cudaGetErrorName(e));
      ++failures;
    }
  };
  KernelReadoutForwardParams bad = fp;
  bad.N = 48;
  expect_invalid("forward N=48", kernel_readout_forward_cuda(bad, nullptr));
  bad = fp, bad.M = 0;
  expect_invalid("forward M=0", kernel_readout_forward_cuda(bad, nullptr));
  bad = fp, bad.M = kKernelReadoutCudaMaxM + 1;
  expect_invalid("forward M too large", kernel_readout_forward_cuda(bad, nullptr));
  bad = fp, bad.T = 0;
  expect_invalid("forward T=0", kernel_readout_forward_cuda(bad, nullptr));
  bad = fp, bad.o = nullptr;
  expect_invalid("forward o=null", kernel_readout_forward_cuda(bad, nullptr));
  bad = fp, bad.workspace = nullptr;
  expect_invalid("forward workspace=null", kernel_readout_forward_cuda(bad, nullptr));
  KernelReadoutBackwardParams bp;
  bp.B = 1, bp.T = 4, bp.H = 1, bp.N = 64, bp.M = 32;
  bp.q = bp.C = bp.gamma = bp.R = bp.S_hat = bp.Q = buf.p;
  bp.dq = bp.dS_hat = bp.workspace = buf.p;
  expect_invalid("backward d_o=null", kernel_readout_backward_cuda(bp, nullptr));
  bp.d_o = buf.p, bp.workspace = nullptr;
  expect_invalid("backward workspace=null", kernel_readout_backward_cuda(bp, nullptr));
  if (kernel_readout_cuda_backward_slices(3, 100, 128, 32) != 4) {  // the many-heads case relies on it
    std::printf("backward slices for B=3 T=100 H=128 N=32: %lld, expected 4\n",
                static_cast<long long>(kernel_readout_cuda_backward_slices(3, 100, 128, 32)));
    ++failures;
  }
  if (kernel_readout_cuda_workspace_bytes(1, 4, 1, 48, 32) != 0) {
    std::printf("workspace size for N=48 should be 0\n");
    ++failures;
  }
  return failures;
}

}  // namespace

int main() {
  if (!check_reference_fd()) return 1;

  if (!statetune::gpu_test::announce_gpu()) return 77;

  int failures = check_argument_errors();
  std::mt19937_64 rng(42);
  Worst worst[kOutputs];
  int n_cases = 0;
  const int H = 2;
  int flags = 0;  // cycles B, S0 and z through all 8 combinations
  for (int N : {16, 32, 64, 128})
    for (int M : {8, 33, 128, 256})
      for (int T : {1, 17, 300}) {
        const Case c{(flags & 1) ? 3 : 1, T, H, N, M, (flags & 2) != 0, (flags & 4) != 0};
        failures += run_case(c, rng, worst);
        ++n_cases, ++flags;
      }
  for (int N : {16, 64, 128}) {  // exact zero queries (and a tiny one), with and without S0
    failures += run_case({3, 17, 3, N, 33, true, true, 5}, rng, worst);
    failures += run_case({1, 40, 2, N, 8, false, true, 3}, rng, worst);
    n_cases += 2;
  }
  failures += run_case({2, 17, 2, 64, 512, true, true}, rng, worst);  // the largest M the sweeps may use
  // Many heads: the backward has S = 512 / H = 4 slices per head, so each slice sums several
  // tiles (3, 3, 2, 2 of the 10) in its workspace partial before the cross-slice reduction.
  failures += run_case({3, 100, 128, 32, 33, true, true}, rng, worst);
  n_cases += 2;
  failures += check_determinism(rng);

  std::printf("%d cases; largest relative norm error per output (tol %.1e):\n", n_cases, kTol);
  for (int k = 0; k < kOutputs; ++k)
    std::printf("  %-6s %.3e  %s\n", kNames[k], worst[k].err, worst[k].where.c_str());
  std::printf("%s\n", statetune::gpu_test::verdict(failures == 0));
  return failures == 0 ? 0 : 1;
}
