// The WKV-7 reference: plain loops, float64 accumulation, every state kept. This is the
// definition the fast paths are tested against; keep it obviously correct, not fast.
#include <vector>

#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

struct Dims {
  int64_t B, T, H, N;
};

// Index of element j of (b, t, h) in a contiguous [B, T, H, N] tensor.
inline int64_t at_btn(const Dims& d, int64_t b, int64_t t, int64_t h, int64_t j) {
  return ((b * d.T + t) * d.H + h) * d.N + j;
}

std::vector<double> to_vec(const at::Tensor& t) {
  at::Tensor c = t.to(at::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

// Initial state of (b, h) as a row-major N x N vector.
std::vector<double> initial_state(const std::vector<double>& s0, bool shared, const Dims& d, int64_t b, int64_t h) {
  std::vector<double> S(d.N * d.N, 0.0);
  if (s0.empty()) return S;
  int64_t base = (shared ? h : b * d.H + h) * d.N * d.N;
  for (int64_t e = 0; e < d.N * d.N; ++e) S[e] = s0[base + e];
  return S;
}

// One step of the recurrence; returns sa = S_{t-1} a.
std::vector<double> step(std::vector<double>& S, const Dims& d, const double* w, const double* k, const double* v,
                         const double* a, const double* b) {
  const int64_t N = d.N;
  std::vector<double> sa(N, 0.0);
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) sa[i] += S[i * N + j] * a[j];
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) S[i * N + j] = S[i * N + j] * w[j] + sa[i] * b[j] + v[i] * k[j];
  return sa;
}

at::Tensor from_vec(const std::vector<double>& v, at::IntArrayRef shape, at::ScalarType dtype) {
  return at::from_blob(const_cast<double*>(v.data()), shape, at::kDouble).clone().to(dtype);
}

}  // namespace

Wkv7Output wkv7_forward_ref(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0) {
  wkv7_check_inputs(r, w, k, v, a, b, s0);
  const Dims d{r.size(0), r.size(1), r.size(2), r.size(3)};
  const auto R = to_vec(r), W = to_vec(w), K = to_vec(k), V = to_vec(v), A = to_vec(a), Bv = to_vec(b);
  const auto S0 = s0.defined() ? to_vec(s0) : std::vector<double>();
  const bool shared = s0.defined() && s0.dim() == 3;
  std::vector<double> y(R.size(), 0.0), sT(d.B * d.H * d.N * d.N, 0.0);
  for (int64_t bi = 0; bi < d.B; ++bi)
    for (int64_t h = 0; h < d.H; ++h) {
      auto S = initial_state(S0, shared, d, bi, h);
      for (int64_t t = 0; t < d.T; ++t) {
        const int64_t o = at_btn(d, bi, t, h, 0);
        step(S, d, &W[o], &K[o], &V[o], &A[o], &Bv[o]);
        for (int64_t i = 0; i < d.N; ++i) {
          double acc = 0.0;
          for (int64_t j = 0; j < d.N; ++j) acc += S[i * d.N + j] * R[o + j];
          y[o + i] = acc;
        }
      }
      for (int64_t e = 0; e < d.N * d.N; ++e) sT[(bi * d.H + h) * d.N * d.N + e] = S[e];
    }
  return {from_vec(y, r.sizes(), r.scalar_type()), from_vec(sT, {d.B, d.H, d.N, d.N}, r.scalar_type())};
}

Wkv7Grads wkv7_backward_ref(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0, const at::Tensor& dy,
                            const at::Tensor& dsT) {
  wkv7_check_inputs(r, w, k, v, a, b, s0);
  const Dims d{r.size(0), r.size(1), r.size(2), r.size(3)};
  const int64_t N = d.N, NN = N * N;
  const auto R = to_vec(r), W = to_vec(w), K = to_vec(k), V = to_vec(v), A = to_vec(a), Bv = to_vec(b);
  const auto DY = to_vec(dy);
  const auto DST = dsT.defined() ? to_vec(dsT) : std::vector<double>();
  const auto S0 = s0.defined() ? to_vec(s0) : std::vector<double>();
  const bool shared = s0.defined() && s0.dim() == 3;
  std::vector<double> dr(R.size(), 0.0), dw(R.size(), 0.0), dk(R.size(), 0.0), dv(R.size(), 0.0),
      da(R.size(), 0.0), db(R.size(), 0.0);
  std::vector<double> ds0(d.B * d.H * NN, 0.0);
  for (int64_t bi = 0; bi < d.B; ++bi)
    for (int64_t h = 0; h < d.H; ++h) {
      // states[t] = S_t (states[0] = S_0); sas[t] = S_t a_{t+1}, the sa of step t+1.
      std::vector<std::vector<double>> states{initial_state(S0, shared, d, bi, h)};
      std::vector<std::vector<double>> sas;
      for (int64_t t = 0; t < d.T; ++t) {
        const int64_t o = at_btn(d, bi, t, h, 0);
        std::vector<double> S = states.back();
        sas.push_back(step(S, d, &W[o], &K[o], &V[o], &A[o], &Bv[o]));
        states.push_back(std::move(S));
      }
      std::vector<double> G(NN, 0.0);
      if (!DST.empty())
        for (int64_t e = 0; e < NN; ++e) G[e] = DST[(bi * d.H + h) * NN + e];
      for (int64_t t = d.T - 1; t >= 0; --t) {
        const int64_t o = at_btn(d, bi, t, h, 0);
        const auto& Sp = states[t];
        const auto& Sn = states[t + 1];
        const auto& sa = sas[t];
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) G[i * N + j] += DY[o + i] * R[o + j];
        std::vector<double> dsa(N, 0.0);
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) {
            const double g = G[i * N + j];
            dr[o + j] += Sn[i * N + j] * DY[o + i];
            dw[o + j] += g * Sp[i * N + j];
            dk[o + j] += g * V[o + i];
            dv[o + i] += g * K[o + j];
            db[o + j] += g * sa[i];
            dsa[i] += g * Bv[o + j];
          }
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) da[o + j] += Sp[i * N + j] * dsa[i];
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) G[i * N + j] = G[i * N + j] * W[o + j] + dsa[i] * A[o + j];
      }
      for (int64_t e = 0; e < NN; ++e) ds0[(bi * d.H + h) * NN + e] = G[e];
    }
  const auto dt = r.scalar_type();
  Wkv7Grads g{from_vec(dr, r.sizes(), dt), from_vec(dw, r.sizes(), dt), from_vec(dk, r.sizes(), dt),
              from_vec(dv, r.sizes(), dt), from_vec(da, r.sizes(), dt), from_vec(db, r.sizes(), dt), at::Tensor()};
  if (s0.defined()) {
    at::Tensor full = from_vec(ds0, {d.B, d.H, N, N}, dt);
    g.ds0 = shared ? full.sum(0) : full;
  }
  return g;
}

}  // namespace statetune::kernels
