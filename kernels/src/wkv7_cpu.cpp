// The fast CPU path of WKV-7: one task per (batch, head) via at::parallel_for, the state
// row-major in a local buffer so the inner j-loops are contiguous and vectorise, and a
// chunked backward that recomputes states forward from checkpoints (see wkv7.h).
#include <ATen/Parallel.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

struct Dims {
  int64_t B, T, H, N;
  int64_t chunks() const { return (T + kWkv7Chunk - 1) / kWkv7Chunk; }
};

// One recurrence step for one (batch, head) in the row layout the backward uses:
// S <- S diag(w) + (S a) bᵀ + v kᵀ; writes sa. Row i of the new state depends only on row i
// of the old one, so each row is read once, reduced against a and updated in place. kN > 0
// fixes the head size at compile time so the j-loops unroll and vectorise; kN == 0 is the
// generic runtime-N path. (The forward uses the transposed variant below.)
template <int kN, typename scalar_t>
inline void wkv_step(scalar_t* __restrict S, scalar_t* __restrict sa, const scalar_t* __restrict w,
                     const scalar_t* __restrict k, const scalar_t* __restrict v, const scalar_t* __restrict a,
                     const scalar_t* __restrict b, int64_t n_runtime) {
  const int64_t N = kN > 0 ? kN : n_runtime;
  for (int64_t i = 0; i < N; ++i) {
    scalar_t* __restrict row = S + i * N;
    scalar_t acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t j = 0; j < N; ++j) acc += row[j] * a[j];
    sa[i] = acc;
    const scalar_t vi = v[i];
#pragma omp simd
    for (int64_t j = 0; j < N; ++j) row[j] = row[j] * w[j] + acc * b[j] + vi * k[j];
  }
}

template <typename scalar_t>
inline void load_s0(scalar_t* S, const scalar_t* s0, bool shared, const Dims& d, int64_t b, int64_t h) {
  const int64_t NN = d.N * d.N;
  if (s0 == nullptr) {
    std::fill(S, S + NN, scalar_t(0));
  } else {
    const scalar_t* src = s0 + (shared ? h : b * d.H + h) * NN;
    std::copy(src, src + NN, S);
  }
}

// The forward keeps the state transposed, St[j][i] = S[i][j] (column j contiguous), so every
// reduction becomes a vertical vector accumulation over i with a broadcast scalar of column
// j — no horizontal sums:
//   pass 1: sa[:] += St[j][:]·a_j                       (sa = S a)
//   pass 2: St[j][:] = St[j][:]·w_j + sa[:]·b_j + v[:]·k_j;  y[:] += St[j][:]·r_j
// Checkpoints and sT are written in the row layout the backward and the callers use.
template <int kN, typename scalar_t>
inline void wkv_step_transposed(scalar_t* __restrict St, scalar_t* __restrict sa, const scalar_t* __restrict w,
                                const scalar_t* __restrict k, const scalar_t* __restrict v,
                                const scalar_t* __restrict a, const scalar_t* __restrict b,
                                const scalar_t* __restrict r, scalar_t* __restrict y, int64_t n_runtime) {
  const int64_t N = kN > 0 ? kN : n_runtime;
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) sa[i] = 0;
  for (int64_t j = 0; j < N; ++j) {
    const scalar_t* __restrict col = St + j * N;
    const scalar_t aj = a[j];
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) sa[i] += col[i] * aj;
  }
#pragma omp simd
  for (int64_t i = 0; i < N; ++i) y[i] = 0;
  for (int64_t j = 0; j < N; ++j) {
    scalar_t* __restrict col = St + j * N;
    const scalar_t wj = w[j], bj = b[j], kj = k[j], rj = r[j];
#pragma omp simd
    for (int64_t i = 0; i < N; ++i) {
      const scalar_t s = col[i] * wj + sa[i] * bj + v[i] * kj;
      col[i] = s;
      y[i] += s * rj;
    }
  }
}

// A (batch, head) task reads N-element slices H·N apart, a new page every step or two on
// large shapes, which the hardware prefetcher does not follow across pages. Ask for the
// inputs a few steps ahead ourselves.
constexpr int64_t kPrefetchSteps = 6;
template <typename scalar_t, typename... Ptrs>
inline void prefetch_step(int64_t offset, int64_t bytes, const scalar_t* first, Ptrs... rest) {
  const char* base = reinterpret_cast<const char*>(first + offset);
  for (int64_t line = 0; line < bytes; line += 64) __builtin_prefetch(base + line, 0, 3);
  if constexpr (sizeof...(rest) > 0) prefetch_step(offset, bytes, rest...);
}

template <typename scalar_t>
inline void transpose_square(const scalar_t* __restrict src, scalar_t* __restrict dst, int64_t N) {
  for (int64_t i = 0; i < N; ++i)
    for (int64_t j = 0; j < N; ++j) dst[j * N + i] = src[i * N + j];
}

template <int kN, typename scalar_t>
void forward_impl(const Dims& d, const scalar_t* r, const scalar_t* w, const scalar_t* k, const scalar_t* v,
                  const scalar_t* a, const scalar_t* b, const scalar_t* s0, bool shared, scalar_t* y,
                  scalar_t* sT, scalar_t* ckpt) {
  const int64_t N = kN > 0 ? kN : d.N, NN = N * N, HN = d.H * N;
  at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> S(NN), St(NN), sa(N);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t bi = bh / d.H, h = bh % d.H;
      load_s0(S.data(), s0, shared, d, bi, h);
      transpose_square(S.data(), St.data(), N);
      scalar_t* my_ckpt = ckpt + bh * d.chunks() * NN;
      for (int64_t t = 0; t < d.T; ++t) {
        if (t % kWkv7Chunk == 0) transpose_square(St.data(), my_ckpt + (t / kWkv7Chunk) * NN, N);
        const int64_t o = (bi * d.T + t) * HN + h * N;
        if (t + kPrefetchSteps < d.T) prefetch_step(o + kPrefetchSteps * HN, N * sizeof(scalar_t), r, w, k, v, a, b);
        wkv_step_transposed<kN>(St.data(), sa.data(), w + o, k + o, v + o, a + o, b + o, r + o, y + o, N);
      }
      transpose_square(St.data(), sT + bh * NN, N);
    }
  });
}

template <int kN, typename scalar_t>
void backward_impl(const Dims& d, const scalar_t* r, const scalar_t* w, const scalar_t* k, const scalar_t* v,
                   const scalar_t* a, const scalar_t* b, const scalar_t* ckpt, const scalar_t* dy,
                   const scalar_t* dsT, scalar_t* dr, scalar_t* dw, scalar_t* dk, scalar_t* dv, scalar_t* da,
                   scalar_t* db, scalar_t* ds0_per_batch) {
  const int64_t N = kN > 0 ? kN : d.N, NN = N * N, HN = d.H * N;
  at::parallel_for(0, d.B * d.H, 1, [&](int64_t begin, int64_t end) {
    // states[s] = the state before step (chunk_start + s); sas[s] = its sa.
    std::vector<scalar_t> states((kWkv7Chunk + 1) * NN), sas(kWkv7Chunk * N), G(NN), dsa(N);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t bi = bh / d.H, h = bh % d.H;
      if (dsT != nullptr) {
        std::copy(dsT + bh * NN, dsT + (bh + 1) * NN, G.begin());
      } else {
        std::fill(G.begin(), G.end(), scalar_t(0));
      }
      for (int64_t c = d.chunks() - 1; c >= 0; --c) {
        const int64_t t0 = c * kWkv7Chunk, t1 = std::min(d.T, t0 + kWkv7Chunk);
        const scalar_t* start = ckpt + (bh * d.chunks() + c) * NN;
        std::copy(start, start + NN, states.begin());
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t o = (bi * d.T + t) * HN + h * N, s = t - t0;
          std::copy(states.begin() + s * NN, states.begin() + (s + 1) * NN, states.begin() + (s + 1) * NN);
          wkv_step<kN>(states.data() + (s + 1) * NN, sas.data() + s * N, w + o, k + o, v + o, a + o, b + o, N);
        }
        for (int64_t t = t1 - 1; t >= t0; --t) {
          const int64_t o = (bi * d.T + t) * HN + h * N, s = t - t0;
          const scalar_t* Sp = states.data() + s * NN;
          const scalar_t* Sn = states.data() + (s + 1) * NN;
          const scalar_t* sa = sas.data() + s * N;
          const scalar_t *__restrict rt = r + o, *__restrict wt = w + o, *__restrict kt = k + o, *__restrict vt = v + o,
                                   *__restrict at = a + o, *__restrict bt = b + o, *__restrict dyt = dy + o;
          scalar_t *__restrict drt = dr + o, *__restrict dwt = dw + o, *__restrict dkt = dk + o,
                   *__restrict dvt = dv + o, *__restrict dat = da + o, *__restrict dbt = db + o;
          for (int64_t j = 0; j < N; ++j) drt[j] = dwt[j] = dkt[j] = dat[j] = dbt[j] = 0;
          for (int64_t i = 0; i < N; ++i) {
            scalar_t* __restrict Gi = G.data() + i * N;
            const scalar_t* __restrict Spi = Sp + i * N;
            const scalar_t* __restrict Sni = Sn + i * N;
            const scalar_t dyi = dyt[i], vi = vt[i], sai = sa[i];
            scalar_t dvi = 0, dsai = 0;
#pragma omp simd reduction(+ : dvi, dsai)
            for (int64_t j = 0; j < N; ++j) {
              const scalar_t g = Gi[j] + dyi * rt[j];  // G += dy rᵀ (the output at t reads S_t)
              Gi[j] = g;
              drt[j] += Sni[j] * dyi;
              dwt[j] += g * Spi[j];
              dkt[j] += g * vi;
              dbt[j] += g * sai;
              dvi += g * kt[j];
              dsai += g * bt[j];
            }
            dvt[i] = dvi;
            dsa[i] = dsai;
          }
          for (int64_t i = 0; i < N; ++i) {
            scalar_t* __restrict Gi = G.data() + i * N;
            const scalar_t* __restrict Spi = Sp + i * N;
            const scalar_t dsai = dsa[i];
#pragma omp simd
            for (int64_t j = 0; j < N; ++j) {
              dat[j] += Spi[j] * dsai;
              Gi[j] = Gi[j] * wt[j] + dsai * at[j];  // G <- G A_tᵀ = dL/dS_{t-1}
            }
          }
        }
      }
      std::copy(G.begin(), G.end(), ds0_per_batch + bh * NN);
    }
  });
}

// Calls fn with the compile-time head size for the common N (16, 32, 64, 128), else 0.
template <typename Fn>
void dispatch_head_size(int64_t N, Fn&& fn) {
  switch (N) {
    case 16: fn(std::integral_constant<int, 16>()); break;
    case 32: fn(std::integral_constant<int, 32>()); break;
    case 64: fn(std::integral_constant<int, 64>()); break;
    case 128: fn(std::integral_constant<int, 128>()); break;
    default: fn(std::integral_constant<int, 0>()); break;
  }
}

}  // namespace

Wkv7SavedForward wkv7_forward_cpu(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k,
                                  const at::Tensor& v, const at::Tensor& a, const at::Tensor& b,
                                  const at::Tensor& s0) {
  wkv7_check_inputs(r, w, k, v, a, b, s0);
  const Dims d{r.size(0), r.size(1), r.size(2), r.size(3)};
  auto opts = r.options();
  at::Tensor rc = r.contiguous(), wc = w.contiguous(), kc = k.contiguous(), vc = v.contiguous(),
             ac = a.contiguous(), bc = b.contiguous();
  at::Tensor s0c = s0.defined() ? s0.contiguous() : s0;
  Wkv7SavedForward out;
  out.out.y = at::empty(r.sizes(), opts);
  out.out.sT = at::empty({d.B, d.H, d.N, d.N}, opts);
  out.checkpoints = at::empty({d.B, d.H, d.chunks(), d.N, d.N}, opts);
  AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "wkv7_forward_cpu", [&] {
    dispatch_head_size(d.N, [&](auto n) {
    forward_impl<decltype(n)::value, scalar_t>(d, rc.data_ptr<scalar_t>(), wc.data_ptr<scalar_t>(), kc.data_ptr<scalar_t>(),
                           vc.data_ptr<scalar_t>(), ac.data_ptr<scalar_t>(), bc.data_ptr<scalar_t>(),
                           s0c.defined() ? s0c.data_ptr<scalar_t>() : nullptr, s0c.defined() && s0c.dim() == 3,
                           out.out.y.data_ptr<scalar_t>(), out.out.sT.data_ptr<scalar_t>(),
                           out.checkpoints.data_ptr<scalar_t>());
    });
  });
  return out;
}

Wkv7Grads wkv7_backward_cpu(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0,
                            const at::Tensor& checkpoints, const at::Tensor& dy, const at::Tensor& dsT) {
  wkv7_check_inputs(r, w, k, v, a, b, s0);
  const Dims d{r.size(0), r.size(1), r.size(2), r.size(3)};
  at::Tensor rc = r.contiguous(), wc = w.contiguous(), kc = k.contiguous(), vc = v.contiguous(),
             ac = a.contiguous(), bc = b.contiguous(), dyc = dy.contiguous(), ck = checkpoints.contiguous();
  at::Tensor dsTc = dsT.defined() ? dsT.contiguous() : dsT;
  auto opts = r.options();
  Wkv7Grads g;
  g.dr = at::empty(r.sizes(), opts);
  g.dw = at::empty(r.sizes(), opts);
  g.dk = at::empty(r.sizes(), opts);
  g.dv = at::empty(r.sizes(), opts);
  g.da = at::empty(r.sizes(), opts);
  g.db = at::empty(r.sizes(), opts);
  at::Tensor ds0 = at::empty({d.B, d.H, d.N, d.N}, opts);
  AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "wkv7_backward_cpu", [&] {
    dispatch_head_size(d.N, [&](auto n) {
    backward_impl<decltype(n)::value, scalar_t>(d, rc.data_ptr<scalar_t>(), wc.data_ptr<scalar_t>(), kc.data_ptr<scalar_t>(),
                            vc.data_ptr<scalar_t>(), ac.data_ptr<scalar_t>(), bc.data_ptr<scalar_t>(),
                            ck.data_ptr<scalar_t>(), dyc.data_ptr<scalar_t>(),
                            dsTc.defined() ? dsTc.data_ptr<scalar_t>() : nullptr, g.dr.data_ptr<scalar_t>(),
                            g.dw.data_ptr<scalar_t>(), g.dk.data_ptr<scalar_t>(), g.dv.data_ptr<scalar_t>(),
                            g.da.data_ptr<scalar_t>(), g.db.data_ptr<scalar_t>(), ds0.data_ptr<scalar_t>());
    });
  });
  if (s0.defined()) g.ds0 = s0.dim() == 3 ? ds0.sum(0) : ds0;
  return g;
}

}  // namespace statetune::kernels
