// The fast CPU path of WKV-7, forward and a chunked backward that recomputes the states of
// one chunk at a time forward from the checkpoints the forward saved (see wkv7.h).
//   * fp32 with head size 16, 32, 64 or 128 on an AVX-512 build: the register-blocked kernels
//     in namespace avx512 below (design notes there).
//   * anything else (fp64, other head sizes, builds without AVX-512): the portable loops
//     first in this file, one (batch, head) per task, the state in a local buffer (transposed
//     in the forward) so the inner loops are contiguous and vectorise.
// Both run their tasks on ATen's threads (run_tasks), and both save a
// checkpoint every kCheckpointEvery steps. Results do not depend on the number of threads.
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "statetune/common/error.h"
#include "statetune/kernels/large_output.h"
#include "statetune/kernels/shape_str.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

// Steps between saved states (both paths of this file): checkpoints are
// [B, H, ceil(T / kCheckpointEvery), N, N]. 64 rather than the CUDA kernels' 16: a quarter of
// the memory, whose first touch (page faults) cost more than the whole forward on large
// shapes, for no more work: the backward's per-chunk scratch (kCheckpointEvery steps of a few
// rows) still fits in L2.
constexpr int64_t kCheckpointEvery = kWkv7CpuCheckpointEvery;

struct Dims {
  int64_t B, T, H, N;
  int64_t chunks() const { return (T + kCheckpointEvery - 1) / kCheckpointEvery; }
};

// Threads: ATen's intra-op pool through at::parallel_for. That is OpenMP in this LibTorch, and
// at::parallel_for is inline in ATen's headers, so it only runs in parallel in files compiled
// with -fopenmp (ATen/ParallelOpenMP.h parallelises only #ifdef _OPENMP): kernels/CMakeLists.txt
// compiles this module with it. libgomp's threads persist across calls, so their
// thread-local scratch (below) does too. Every task writes its own outputs, so results do not
// depend on the number of threads or on which thread ran what.
template <typename F>
void run_tasks(int64_t n, int threads, const F& fn) {
  if (threads <= 1 || n <= 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  at::parallel_for(0, n, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

// Threads for a call: at::get_num_threads(), but one for small problems (waking threads
// costs tens of microseconds) and inside an ATen parallel region.
inline int threads_for(const Dims& d) {
  if (at::in_parallel_region() || d.B * d.H * d.T * d.N * d.N < (int64_t(1) << 20)) return 1;
  return std::max(1, at::get_num_threads());
}

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
  run_tasks(d.B * d.H, threads_for(d), [&](int64_t task) {
    const int64_t begin = task, end = task + 1;
    std::vector<scalar_t> S(NN), St(NN), sa(N);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t bi = bh / d.H, h = bh % d.H;
      load_s0(S.data(), s0, shared, d, bi, h);
      transpose_square(S.data(), St.data(), N);
      scalar_t* my_ckpt = ckpt + bh * d.chunks() * NN;
      for (int64_t t = 0; t < d.T; ++t) {
        if (t % kCheckpointEvery == 0) transpose_square(St.data(), my_ckpt + (t / kCheckpointEvery) * NN, N);
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
  run_tasks(d.B * d.H, threads_for(d), [&](int64_t task) {
    const int64_t begin = task, end = task + 1;
    // states[s] = the state before step (chunk_start + s); sas[s] = its sa.
    std::vector<scalar_t> states((kCheckpointEvery + 1) * NN), sas(kCheckpointEvery * N), G(NN), dsa(N);
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t bi = bh / d.H, h = bh % d.H;
      if (dsT != nullptr) {
        std::copy(dsT + bh * NN, dsT + (bh + 1) * NN, G.begin());
      } else {
        std::fill(G.begin(), G.end(), scalar_t(0));
      }
      for (int64_t c = d.chunks() - 1; c >= 0; --c) {
        const int64_t t0 = c * kCheckpointEvery, t1 = std::min(d.T, t0 + kCheckpointEvery);
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

#if defined(__AVX512F__)
// ---------------------------------------------------------------------------------------------
// The AVX-512 fp32 path (head sizes 16, 32, 64, 128).
//
// Rows in registers. Row i of the state only ever depends on row i (sa_i = S[i]·a,
// S[i] ← S[i]⊙w + sa_i·b + v_i·k), and so does row i of the backward's G = dL/dS
// (dsa_i = g[i]·b, G[i] ← g[i]⊙w + dsa_i·a). So instead of streaming the whole 16 KB state
// through L1 every step (a zmm store per 16 elements per step; Zen 4 sustains well under one
// zmm store per cycle, which bounded the old code), a block of rows_per_block() rows is held
// in registers for a whole chunk of kL steps, then the next block runs over the same chunk.
// The two dot products per row and step (sa and y in the forward, dv and dsa in the
// backward) are horizontal sums; four of them are reduced together by one shuffle tree
// (hsum4), which leaves each sum in a 128-bit lane, ready to broadcast for the update.
//
// Lazy decay. Within a chunk the state is kept as S̃ = S ⊘ c, with c_s = w_1 ⊙ ⋯ ⊙ w_s the
// decay accumulated since the chunk start (per key column). Then
//   S̃_s = S̃_{s-1} + sa·(b ⊘ c_s) + v·(k ⊘ c_s),  sa = S̃_{s-1}·(c_{s-1} ⊙ a),  y = S̃_s·(c_s ⊙ r),
// two FMAs per element and step instead of a multiply and two FMAs; the per-step vectors
// (â, b̂, k̂, r̂) are computed once per chunk and head when its inputs are packed. Rounding is
// unchanged in kind: every term of a column is scaled alike, so the relative sizes of what is
// added are those of the plain recurrence. To keep c (and 1/c) far from under/overflow, a step
// whose c would leave [2^-32, 2^32] in any column is a "direct" one: S̃ is multiplied by
// m = c_{s-1} ⊙ w_s (the plain recurrence) and c restarts at 1 (rare for the model's decays,
// which are above 0.545; zero or tiny decays just make every step direct). The backward
// keeps G̃ = G ⊙ c, for which the same vectors serve: g̃ = G̃ + dy·r̂,
// G̃_{s-1} = g̃ + dsa·â (⊙ m on direct steps), dv = g̃·k̂, dsa = g̃·b̂, and the column sums
// are rescaled once per step on output (dw by c_{s-1}/c_s, dk and db by 1/c_s, da by
// c_{s-1}, dr by c_s).
//
// Memory. The per-step inputs of one (batch, head) lie H·N floats apart; each chunk's inputs
// are packed (and scaled) into a small contiguous buffer once, the next work item's inputs are
// prefetched while the current one runs, and a task runs a group of heads chunk by chunk, so
// the pages a chunk touches are shared by the group's heads. The backward keeps, per row
// block, the recomputed states of the chunk and sums the per-column gradients (dr, dw, dk,
// db, da) of all row blocks in a [kL, 5, N] buffer: what the inner loops touch stays in L1/L2.
// Outputs and checkpoints larger than the caches are written with non-temporal stores.
// These per-thread buffers (Scratch) take at most 0.6 MiB for N = 64 (1.6 MiB for N = 128)
// and are kept between calls, on top of the checkpoints.
namespace avx512 {

constexpr int64_t kL = kCheckpointEvery;  // steps per time chunk = checkpoint interval
// Packed, scaled inputs of one chunk: field f of step s at pack[(s·kFields + f)·N]:
// r̂ = c_s⊙r, m = c_{s-1}⊙w (direct steps only), k̂ = k⊘c_s, v, â = c_{s-1}⊙a, b̂ = b⊘c_s, dy,
// c_s and 1/c_s. One step more than a chunk: every step computes the next step's sa (the
// last one's is never used).
enum : int64_t { kFR, kFM, kFK, kFV, kFA, kFB, kFDY, kFC, kFIC, kFields };
// The backward's per-step column sums: [kL][kAccs][N].
enum : int64_t { kAccR, kAccW, kAccK, kAccB, kAccA, kAccs };
// Bounds of the accumulated decay c before a step is taken directly (see above).
constexpr float kDecayLow = 0x1p-32f, kDecayHigh = 0x1p32f;

// Per-thread scratch, kept between calls: the buffers a task needs (a few hundred KiB) are
// above glibc's mmap threshold, so allocating them per task or call would map and fault in
// fresh pages every time, which costs more than the work on small shapes. Not re-entrant
// (a task never calls back into the op).
class Scratch {
 public:
  // A 64-byte aligned region of n floats, valid until the next get() on this thread. Its
  // contents are whatever the previous use left.
  static float* get(int64_t n) {
    thread_local Scratch s;
    const size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
    if (bytes > s.bytes_) {
      std::free(s.p_);
      s.p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (s.p_ == nullptr) {
        s.bytes_ = 0;
        throw std::bad_alloc();
      }
      s.bytes_ = bytes;
    }
    return s.p_;
  }
  ~Scratch() { std::free(p_); }

 private:
  float* p_ = nullptr;
  size_t bytes_ = 0;
};

// Carves consecutive 64-byte aligned arrays out of one scratch region.
class Carver {
 public:
  explicit Carver(float* base) : p_(base) {}
  template <typename T = float>
  T* take(int64_t n) {
    T* r = reinterpret_cast<T*>(p_);
    p_ += (static_cast<int64_t>(n * sizeof(T)) + 63) / 64 * 16;
    return r;
  }
  static int64_t floats(int64_t n, size_t elem = sizeof(float)) {
    return (static_cast<int64_t>(n * elem) + 63) / 64 * 16;
  }

 private:
  float* p_;
};

// The plain shuffle intrinsics of GCC 12 start from _mm512_undefined_ps(), which -Wall
// reports as uninitialised (GCC bug 105593); the masked forms with a full mask compile to the
// same instructions without it.
template <int imm>
inline __m512 shuf128(__m512 a, __m512 b) {
  return _mm512_mask_shuffle_f32x4(a, 0xFFFF, a, b, imm);
}
template <int imm>
inline __m512 permute_in_128(__m512 a) {
  return _mm512_mask_permute_ps(a, 0xFFFF, a, imm);
}
inline __m512 permutexvar(__m512i idx, __m512 a) {
  return _mm512_mask_permutexvar_ps(a, 0xFFFF, idx, a);
}

// Horizontal sums of four vectors in 13 shuffles/adds: 128-bit lane k of the result holds
// Σ x_k in all four floats, for (x_0, x_1, x_2, x_3) = (p0, p1, q0, q1). The vectors never mix.
inline __m512 hsum4(__m512 p0, __m512 p1, __m512 q0, __m512 q1) {
  const __m512 xp = _mm512_add_ps(shuf128<0x44>(p0, p1), shuf128<0xEE>(p0, p1));
  const __m512 xq = _mm512_add_ps(shuf128<0x44>(q0, q1), shuf128<0xEE>(q0, q1));
  const __m512 y = _mm512_add_ps(shuf128<0x88>(xp, xq), shuf128<0xDD>(xp, xq));
  const __m512 z = _mm512_add_ps(y, permute_in_128<0x4E>(y));
  return _mm512_add_ps(z, permute_in_128<0xB1>(z));
}
// Lane k of hsum4's result, in every float.
template <int k>
inline __m512 lane(__m512 w) {
  return shuf128<k * 0x55>(w, w);
}
inline __m512 lane(__m512 w, int k) {
  switch (k) {
    case 0: return lane<0>(w);
    case 1: return lane<1>(w);
    case 2: return lane<2>(w);
    default: return lane<3>(w);
  }
}

template <int NV>
inline __m512 dot(const __m512 (&row)[NV], const float* __restrict x) {
  __m512 acc = _mm512_mul_ps(row[0], _mm512_loadu_ps(x));
#pragma GCC unroll 8
  for (int v = 1; v < NV; ++v) acc = _mm512_fmadd_ps(row[v], _mm512_loadu_ps(x + 16 * v), acc);
  return acc;
}

// Rows per block: four rows of up to 64 floats (16 zmm) or two of 128, in registers.
template <int NV>
constexpr int rows_per_block() {
  return NV <= 4 ? 4 : 2;
}

// The sums of (x0, x1) [and (x2, x3)] in lanes 0, 1 [2, 3]: one hsum4 for the block's rows.
template <int RB>
inline __m512 hsum_rows(const __m512 (&x)[RB]) {
  if constexpr (RB == 4) return hsum4(x[0], x[1], x[2], x[3]);
  else return hsum4(x[0], x[1], x[0], x[1]);
}

// One (lazy or direct) step of a state row: S̃ ← S̃ [⊙ m] + v_i·k̂ + sa·b̂.
template <int NV>
inline void update_row(__m512 (&S)[NV], const float* __restrict st, int64_t vi_index, __m512 sa, bool direct) {
  constexpr int64_t N = 16 * NV;
  const __m512 vi = _mm512_set1_ps(st[kFV * N + vi_index]);
  if (direct) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) S[v] = _mm512_mul_ps(S[v], _mm512_loadu_ps(st + kFM * N + 16 * v));
  }
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    // v·k̂ first: it does not wait for sa.
    S[v] = _mm512_fmadd_ps(vi, _mm512_loadu_ps(st + kFK * N + 16 * v), S[v]);
    S[v] = _mm512_fmadd_ps(sa, _mm512_loadu_ps(st + kFB * N + 16 * v), S[v]);
  }
}

// Forward over one chunk for rows [i0, i0 + RB) of the state (true scale, updated in place),
// copying the rows as they were to ckpt first (streamed if `stream`); y_i of every step into
// ybuf[s·N + i0 + i].
template <int NV>
inline void forward_rows(float* __restrict state, float* __restrict ckpt, bool stream, const float* __restrict pack,
                         const uint8_t* __restrict direct, int64_t len, int64_t i0, float* __restrict ybuf) {
  constexpr int RB = rows_per_block<NV>(), NP = RB / 2;
  constexpr int64_t N = 16 * NV, F = kFields * N;
  __m512 S[RB][NV];
#pragma GCC unroll 4
  for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      S[i][v] = _mm512_load_ps(state + i * N + 16 * v);
      if (stream) _mm512_stream_ps(ckpt + i * N + 16 * v, S[i][v]);
      else _mm512_storeu_ps(ckpt + i * N + 16 * v, S[i][v]);
    }
  // W[p]: lanes 0, 1 = sa of rows 2p, 2p+1 for the coming step; lanes 2, 3 = y of the last.
  __m512 W[NP];
#pragma GCC unroll 2
  for (int p = 0; p < NP; ++p) {
    const __m512 x0 = dot<NV>(S[2 * p], pack + kFA * N), x1 = dot<NV>(S[2 * p + 1], pack + kFA * N);
    W[p] = hsum4(x0, x1, x0, x1);
  }
  const __m512i y_lanes = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8);
  for (int64_t s = 0; s < len; ++s) {
    const float* __restrict st = pack + s * F;
    const bool dir = direct[s] != 0;
#pragma GCC unroll 2
    for (int p = 0; p < NP; ++p) {
      update_row<NV>(S[2 * p], st, i0 + 2 * p, lane<0>(W[p]), dir);
      update_row<NV>(S[2 * p + 1], st, i0 + 2 * p + 1, lane<1>(W[p]), dir);
      // y of this step reads the new state; sa of the next step too: one reduction for both.
      const __m512 p0 = dot<NV>(S[2 * p], st + F + kFA * N), p1 = dot<NV>(S[2 * p + 1], st + F + kFA * N);
      const __m512 q0 = dot<NV>(S[2 * p], st + kFR * N), q1 = dot<NV>(S[2 * p + 1], st + kFR * N);
      W[p] = hsum4(p0, p1, q0, q1);
      _mm512_mask_storeu_ps(ybuf + s * N + i0 + 2 * p, 0x3, permutexvar(y_lanes, W[p]));
    }
  }
  // Back to the true scale: S = S̃ ⊙ c of the last step.
  const float* __restrict c_end = pack + (len - 1) * F + kFC * N;
#pragma GCC unroll 4
  for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      _mm512_store_ps(state + i * N + 16 * v, _mm512_mul_ps(S[i][v], _mm512_loadu_ps(c_end + 16 * v)));
}

// Backward over one chunk for rows [i0, i0 + RB): recompute the chunk's states forward from
// the checkpoint rows (keeping each step's old rows S̃_{s-1} in spbuf and sa in sabuf, and
// adding the new state's share of dr), then step G̃'s rows (in registers) backwards through
// the chunk. g_rows holds G in the true scale before and after.
template <int NV>
inline void backward_rows(const float* __restrict s_in, float* __restrict g_rows, const float* __restrict pack,
                          const uint8_t* __restrict direct, int64_t len, int64_t i0, float* __restrict acc,
                          float* __restrict dvbuf, float* __restrict sabuf, float* __restrict spbuf) {
  constexpr int RB = rows_per_block<NV>();
  constexpr int64_t N = 16 * NV, F = kFields * N, A = kAccs * N;
  {
    __m512 S[RB][NV];
#pragma GCC unroll 4
    for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) S[i][v] = _mm512_loadu_ps(s_in + i * N + 16 * v);
    __m512 x[RB];
#pragma GCC unroll 4
    for (int i = 0; i < RB; ++i) x[i] = dot<NV>(S[i], pack + kFA * N);
    __m512 W = hsum_rows<RB>(x);  // lane i: sa of row i for the coming step
    for (int64_t s = 0; s < len; ++s) {
      const float* __restrict st = pack + s * F;
      const bool dir = direct[s] != 0;
      float* __restrict sp = spbuf + s * RB * N;
#pragma GCC unroll 4
      for (int i = 0; i < RB; ++i) {
        const __m512 sa = lane(W, i);
        sabuf[s * RB + i] = _mm512_cvtss_f32(sa);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) _mm512_store_ps(sp + i * N + 16 * v, S[i][v]);
        update_row<NV>(S[i], st, i0 + i, sa, dir);
      }
      // dr_j += Σ_i S̃_s[i][j]·dy_i (the output at s reads the new state; ⊙ c_s on output).
      float* __restrict acc_r = acc + s * A + kAccR * N;
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        __m512 r = _mm512_load_ps(acc_r + 16 * v);
#pragma GCC unroll 4
        for (int i = 0; i < RB; ++i) r = _mm512_fmadd_ps(S[i][v], _mm512_set1_ps(st[kFDY * N + i0 + i]), r);
        _mm512_store_ps(acc_r + 16 * v, r);
      }
#pragma GCC unroll 4
      for (int i = 0; i < RB; ++i) x[i] = dot<NV>(S[i], st + F + kFA * N);
      W = hsum_rows<RB>(x);
    }
  }
  // G̃ = G ⊙ c at the chunk's last step.
  __m512 G[RB][NV];
  const float* __restrict c_end = pack + (len - 1) * F + kFC * N;
#pragma GCC unroll 4
  for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v)
      G[i][v] = _mm512_mul_ps(_mm512_load_ps(g_rows + i * N + 16 * v), _mm512_loadu_ps(c_end + 16 * v));
  const __m512i dv_lanes = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0);
  for (int64_t s = len - 1; s >= 0; --s) {
    const float* __restrict st = pack + s * F;
    const float* __restrict sp = spbuf + s * RB * N;
    float* __restrict as = acc + s * A;
    // g̃ = G̃ + dy r̂ᵀ; dw += g̃ ⊙ S̃_{s-1}, dk += g̃ᵀv, db += g̃ᵀsa (column sums over the rows,
    // rescaled on output); dv_i = g̃[i]·k̂, dsa_i = g̃[i]·b̂ (row sums, exact scale).
    __m512 dvp[RB], dsap[RB];
#pragma GCC unroll 4
    for (int i = 0; i < RB; ++i) dvp[i] = dsap[i] = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      // k̂ and b̂ stay memory operands: with G (4·NV), the row sums (8) and three column sums
      // in registers, two more would spill.
      const __m512 rv = _mm512_loadu_ps(st + kFR * N + 16 * v);
      const float *__restrict kv = st + kFK * N + 16 * v, *__restrict bv = st + kFB * N + 16 * v;
      // The per-row scalars dy_i, v_i, sa_i, hidden behind an empty asm so that GCC reloads
      // them as embedded-broadcast operands here rather than hoisting 3·RB broadcast registers
      // out of this loop (which spilled G).
      const float *bdy = st + kFDY * N + i0, *bv_ = st + kFV * N + i0, *bsa = sabuf + s * RB;
      __asm__("" : "+r"(bdy), "+r"(bv_), "+r"(bsa));
      __m512 aw = _mm512_load_ps(as + kAccW * N + 16 * v), ak = _mm512_load_ps(as + kAccK * N + 16 * v),
             ab = _mm512_load_ps(as + kAccB * N + 16 * v);
#pragma GCC unroll 4
      for (int i = 0; i < RB; ++i) {
        const __m512 g = _mm512_fmadd_ps(rv, _mm512_set1_ps(bdy[i]), G[i][v]);
        G[i][v] = g;
        aw = _mm512_fmadd_ps(g, _mm512_load_ps(sp + i * N + 16 * v), aw);
        ak = _mm512_fmadd_ps(g, _mm512_set1_ps(bv_[i]), ak);
        ab = _mm512_fmadd_ps(g, _mm512_set1_ps(bsa[i]), ab);
        dvp[i] = _mm512_fmadd_ps(g, _mm512_loadu_ps(kv), dvp[i]);
        dsap[i] = _mm512_fmadd_ps(g, _mm512_loadu_ps(bv), dsap[i]);
      }
      _mm512_store_ps(as + kAccW * N + 16 * v, aw);
      _mm512_store_ps(as + kAccK * N + 16 * v, ak);
      _mm512_store_ps(as + kAccB * N + 16 * v, ab);
    }
    __m512 dsa[RB];
#pragma GCC unroll 2
    for (int p = 0; p < RB / 2; ++p) {
      const __m512 W = hsum4(dvp[2 * p], dvp[2 * p + 1], dsap[2 * p], dsap[2 * p + 1]);
      _mm512_mask_storeu_ps(dvbuf + s * N + i0 + 2 * p, 0x3, permutexvar(dv_lanes, W));
      dsa[2 * p] = lane<2>(W);
      dsa[2 * p + 1] = lane<3>(W);
    }
    // da += S̃_{s-1}ᵀ dsa (⊙ c_{s-1} on output); G̃_{s-1} = g̃ [⊙ m] + dsa âᵀ.
    const bool dir = direct[s] != 0;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const __m512 av = _mm512_loadu_ps(st + kFA * N + 16 * v);
      __m512 aa = _mm512_load_ps(as + kAccA * N + 16 * v);
      if (dir) {
        const __m512 mv = _mm512_loadu_ps(st + kFM * N + 16 * v);
#pragma GCC unroll 4
        for (int i = 0; i < RB; ++i) G[i][v] = _mm512_mul_ps(G[i][v], mv);
      }
#pragma GCC unroll 4
      for (int i = 0; i < RB; ++i) {
        aa = _mm512_fmadd_ps(_mm512_load_ps(sp + i * N + 16 * v), dsa[i], aa);
        G[i][v] = _mm512_fmadd_ps(av, dsa[i], G[i][v]);
      }
      _mm512_store_ps(as + kAccA * N + 16 * v, aa);
    }
  }
  // c_{-1} = 1: G̃ is G again.
#pragma GCC unroll 4
  for (int i = 0; i < RB; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) _mm512_store_ps(g_rows + i * N + 16 * v, G[i][v]);
}

// The inputs of the op, [B, T, H, N] each (dy only in the backward).
struct Io {
  const float *r, *w, *k, *v, *a, *b, *dy;
};

inline void copy_floats(float* __restrict dst, const float* __restrict src, int64_t n) {
  std::copy(src, src + n, dst);
}
// One head's slice into an output slice (64-byte aligned: tensors are, and slices are
// N = 16·NV floats apart), times `scale` if given. For outputs larger than the caches,
// non-temporal stores skip reading each line from memory before overwriting it.
template <int NV>
inline void write_slice(float* __restrict dst, const float* __restrict src, const float* __restrict scale,
                        bool stream) {
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) {
    __m512 x = _mm512_load_ps(src + 16 * v);
    if (scale != nullptr) x = _mm512_mul_ps(x, _mm512_loadu_ps(scale + 16 * v));
    if (stream) _mm512_stream_ps(dst + 16 * v, x);
    else _mm512_storeu_ps(dst + 16 * v, x);
  }
}
// Outputs (and checkpoints) at least this large are written with non-temporal stores.
constexpr int64_t kStreamBytes = int64_t(16) << 20;

// Pack steps [t0, t0 + len) of (bi, h), scaled for the lazy decay (fields above; dy, c and
// 1/c only for the backward, when io.dy is set), and mark the direct steps.
template <int NV>
inline void pack_chunk(const Dims& d, const Io& io, int64_t bi, int64_t h, int64_t t0, int64_t len, float* pack,
                       uint8_t* direct) {
  constexpr int64_t N = 16 * NV, F = kFields * N;
  const int64_t HN = d.H * N;
  const bool backward = io.dy != nullptr;
  const __m512 one = _mm512_set1_ps(1.f), lo = _mm512_set1_ps(kDecayLow), hi = _mm512_set1_ps(kDecayHigh);
  __m512 c[NV];
#pragma GCC unroll 8
  for (int v = 0; v < NV; ++v) c[v] = one;
  for (int64_t s = 0; s < len; ++s) {
    const int64_t o = (bi * d.T + t0 + s) * HN + h * N;
    float* __restrict p = pack + s * F;
    __m512 cw[NV];
    __mmask16 out_of_range = 0;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      cw[v] = _mm512_mul_ps(c[v], _mm512_loadu_ps(io.w + o + 16 * v));
      out_of_range |= _mm512_cmp_ps_mask(cw[v], lo, _CMP_LT_OQ) | _mm512_cmp_ps_mask(cw[v], hi, _CMP_GT_OQ);
      _mm512_store_ps(p + kFA * N + 16 * v, _mm512_mul_ps(c[v], _mm512_loadu_ps(io.a + o + 16 * v)));
      _mm512_store_ps(p + kFV * N + 16 * v, _mm512_loadu_ps(io.v + o + 16 * v));
      if (backward) _mm512_store_ps(p + kFDY * N + 16 * v, _mm512_loadu_ps(io.dy + o + 16 * v));
    }
    direct[s] = out_of_range != 0;
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      const __m512 k = _mm512_loadu_ps(io.k + o + 16 * v), b = _mm512_loadu_ps(io.b + o + 16 * v),
                   r = _mm512_loadu_ps(io.r + o + 16 * v);
      __m512 ic;
      if (out_of_range) {
        _mm512_store_ps(p + kFM * N + 16 * v, cw[v]);
        c[v] = one;
        ic = one;
      } else {
        c[v] = cw[v];
        ic = _mm512_div_ps(one, c[v]);
      }
      _mm512_store_ps(p + kFK * N + 16 * v, _mm512_mul_ps(k, ic));
      _mm512_store_ps(p + kFB * N + 16 * v, _mm512_mul_ps(b, ic));
      _mm512_store_ps(p + kFR * N + 16 * v, _mm512_mul_ps(c[v], r));
      if (backward || s + 1 == len) _mm512_store_ps(p + kFC * N + 16 * v, c[v]);  // the forward needs c_end only
      if (backward) _mm512_store_ps(p + kFIC * N + 16 * v, ic);
    }
  }
  // The look-ahead â after the last step is read but never used; keep it finite (the scratch
  // holds whatever an earlier call left there).
  std::fill(pack + len * F + kFA * N, pack + len * F + (kFA + 1) * N, 0.f);
}

// A software prefetch that stays put: GCC 12 deletes a loop whose body is only
// __builtin_prefetch / _mm_prefetch once it is inlined (no side effects), as happened here.
inline void prefetch_line(const float* p) {
  __asm__ volatile("prefetcht0 %0" : : "m"(*p));
}

// Prefetch steps [s_begin, s_end) of the chunk at t0 of (bi, h) (what pack_chunk will read).
inline void prefetch_chunk(const Dims& d, const Io& io, int64_t bi, int64_t h, int64_t t0, int64_t s_begin,
                           int64_t s_end) {
  const int64_t N = d.N, HN = d.H * N;
  const float* src[7] = {io.r, io.w, io.k, io.v, io.a, io.b, io.dy};
  const int nf = io.dy != nullptr ? 7 : 6;
  for (int64_t s = s_begin; s < s_end; ++s) {
    const int64_t o = (bi * d.T + t0 + s) * HN + h * N;
    for (int f = 0; f < nf; ++f)
      // Every other line: the L2's adjacent-line prefetcher fetches the one in between.
      for (int64_t e = 0; e < N; e += 32) prefetch_line(src[f] + o + e);
  }
}

// A task: batch bi, heads [h0, h1). Work items run chunk-major (forward: chunk 0 first,
// backward: last chunk first), heads inner, so a chunk's input pages serve the whole group.
struct Task {
  int64_t bi, h0, h1;
};

template <typename Fn>
void for_each_task(const Dims& d, Fn&& fn) {
  // About eight tasks per thread (balance when a core is shared), at most 16 heads each, so a
  // group's slices of one token (16·N floats) span about one 4 KiB page per input.
  const int threads = threads_for(d);
  const int64_t g = std::clamp<int64_t>(d.B * d.H / (8 * threads), 1, std::min<int64_t>(16, d.H));
  const int64_t groups = (d.H + g - 1) / g;
  run_tasks(d.B * groups, threads, [&](int64_t task) {
    const int64_t bi = task / groups, h0 = (task % groups) * g;
    fn(Task{bi, h0, std::min(d.H, h0 + g)});
  });
}

template <int NV>
void forward_avx512(const Dims& d, const Io& io, const float* s0, bool shared, float* y, float* sT, float* ckpt) {
  constexpr int RB = rows_per_block<NV>();
  constexpr int64_t N = 16 * NV, NN = N * N, F = kFields * N, NB = N / RB;
  const int64_t HN = d.H * N, chunks = d.chunks();
  const bool stream_y = d.B * d.T * HN * 4 >= kStreamBytes, stream_ckpt = d.B * d.H * chunks * NN * 4 >= kStreamBytes;
  for_each_task(d, [&](const Task& task) {
    // The group's states live here between chunks (in cache); checkpoints are only written.
    const int64_t nh_task = task.h1 - task.h0;
    Carver carve(Scratch::get(Carver::floats((kL + 1) * F) + Carver::floats(kL * N) + Carver::floats(nh_task * NN) +
                              Carver::floats(kL, 1)));
    float *pack = carve.take((kL + 1) * F), *ybuf = carve.take(kL * N), *state = carve.take(nh_task * NN);
    uint8_t* direct = carve.take<uint8_t>(kL);
    for (int64_t h = task.h0; h < task.h1; ++h) {
      float* st = state + (h - task.h0) * NN;
      if (s0 != nullptr) copy_floats(st, s0 + (shared ? h : task.bi * d.H + h) * NN, NN);
      else std::fill(st, st + NN, 0.f);
    }
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t t0 = c * kL, len = std::min(kL, d.T - t0);
      for (int64_t h = task.h0; h < task.h1; ++h) {
        const int64_t bh = task.bi * d.H + h;
        // The next item, whose inputs are fetched while this one runs.
        const bool last_head = h + 1 == task.h1;
        const int64_t nh = last_head ? task.h0 : h + 1, nc = last_head ? c + 1 : c;
        const int64_t nt0 = nc * kL, nlen = nc < chunks ? std::min(kL, d.T - nt0) : 0;
        pack_chunk<NV>(d, io, task.bi, h, t0, len, pack, direct);
        float* st = state + (h - task.h0) * NN;
        float* ck = ckpt + (bh * chunks + c) * NN;
        for (int64_t blk = 0; blk < NB; ++blk) {
          prefetch_chunk(d, io, task.bi, nh, nt0, blk * nlen / NB, (blk + 1) * nlen / NB);
          forward_rows<NV>(st + blk * RB * N, ck + blk * RB * N, stream_ckpt, pack, direct, len, blk * RB, ybuf);
        }
        for (int64_t s = 0; s < len; ++s)
          write_slice<NV>(y + (task.bi * d.T + t0 + s) * HN + h * N, ybuf + s * N, nullptr, stream_y);
      }
    }
    for (int64_t h = task.h0; h < task.h1; ++h)
      copy_floats(sT + (task.bi * d.H + h) * NN, state + (h - task.h0) * NN, NN);
    _mm_sfence();  // this thread's non-temporal stores are visible before the join
  });
}

template <int NV>
void backward_avx512(const Dims& d, const Io& io, const float* ckpt, const float* dsT, float* dr, float* dw,
                     float* dk, float* dv, float* da, float* db, float* ds0) {
  constexpr int RB = rows_per_block<NV>();
  constexpr int64_t N = 16 * NV, NN = N * N, F = kFields * N, NB = N / RB, A = kAccs * N;
  const int64_t HN = d.H * N, chunks = d.chunks();
  const bool stream = d.B * d.T * HN * 4 >= kStreamBytes;
  for_each_task(d, [&](const Task& task) {
    const int64_t nh_task = task.h1 - task.h0;
    Carver carve(Scratch::get(Carver::floats((kL + 1) * F) + Carver::floats(kL * A) + Carver::floats(kL * N) +
                              Carver::floats(kL * RB) + Carver::floats(kL * RB * N) + Carver::floats(nh_task * NN) +
                              Carver::floats(N) + Carver::floats(kL, 1)));
    float *pack = carve.take((kL + 1) * F), *acc = carve.take(kL * A), *dvbuf = carve.take(kL * N),
          *sabuf = carve.take(kL * RB), *spbuf = carve.take(kL * RB * N), *G = carve.take(nh_task * NN),
          *ones = carve.take(N);
    uint8_t* direct = carve.take<uint8_t>(kL);
    std::fill(ones, ones + N, 1.f);
    for (int64_t h = task.h0; h < task.h1; ++h) {
      float* g = G + (h - task.h0) * NN;
      if (dsT != nullptr) copy_floats(g, dsT + (task.bi * d.H + h) * NN, NN);
      else std::fill(g, g + NN, 0.f);
    }
    for (int64_t c = chunks - 1; c >= 0; --c) {
      const int64_t t0 = c * kL, len = std::min(kL, d.T - t0);
      for (int64_t h = task.h0; h < task.h1; ++h) {
        const int64_t bh = task.bi * d.H + h;
        const bool last_head = h + 1 == task.h1;
        const int64_t nh = last_head ? task.h0 : h + 1, nc = last_head ? c - 1 : c;
        const int64_t nt0 = nc * kL, nlen = nc >= 0 ? std::min(kL, d.T - nt0) : 0;
        pack_chunk<NV>(d, io, task.bi, h, t0, len, pack, direct);
        std::fill(acc, acc + len * A, 0.f);
        const float* s_in = ckpt + (bh * chunks + c) * NN;
        float* g = G + (h - task.h0) * NN;
        for (int64_t blk = 0; blk < NB; ++blk) {
          prefetch_chunk(d, io, task.bi, nh, nt0, blk * nlen / NB, (blk + 1) * nlen / NB);
          backward_rows<NV>(s_in + blk * RB * N, g + blk * RB * N, pack, direct, len, blk * RB, acc, dvbuf, sabuf,
                            spbuf);
        }
        // Back to the true scale on the way out (see the lazy decay above).
        for (int64_t s = 0; s < len; ++s) {
          const int64_t o = (task.bi * d.T + t0 + s) * HN + h * N;
          const float* st = pack + s * F;
          const float* ic = st + kFIC * N;                                   // 1/c_s
          const float* c_prev = s > 0 ? st - F + kFC * N : ones;             // c_{s-1}
          alignas(64) float w_scale[N];                                       // c_{s-1}/c_s
#pragma GCC unroll 8
          for (int v = 0; v < NV; ++v)
            _mm512_store_ps(w_scale + 16 * v, _mm512_mul_ps(_mm512_loadu_ps(c_prev + 16 * v), _mm512_loadu_ps(ic + 16 * v)));
          const float* a = acc + s * A;
          write_slice<NV>(dr + o, a + kAccR * N, st + kFC * N, stream);
          write_slice<NV>(dw + o, a + kAccW * N, w_scale, stream);
          write_slice<NV>(dk + o, a + kAccK * N, ic, stream);
          write_slice<NV>(db + o, a + kAccB * N, ic, stream);
          write_slice<NV>(da + o, a + kAccA * N, c_prev, stream);
          write_slice<NV>(dv + o, dvbuf + s * N, nullptr, stream);
        }
      }
    }
    for (int64_t h = task.h0; h < task.h1; ++h)
      copy_floats(ds0 + (task.bi * d.H + h) * NN, G + (h - task.h0) * NN, NN);
    _mm_sfence();  // this thread's non-temporal stores are visible before the join
  });
}

}  // namespace avx512
#endif  // __AVX512F__


// dS0 of a shared s0: the per-sequence gradients added over the batch in order. Elementwise
// adds, so the result does not depend on the number of threads (a reduction kernel's may).
at::Tensor sum_over_batch(const at::Tensor& per_batch) {
  if (per_batch.size(0) == 0) return at::zeros(per_batch.sizes().slice(1), per_batch.options());
  at::Tensor acc = per_batch[0].clone();
  for (int64_t b = 1; b < per_batch.size(0); ++b) acc.add_(per_batch[b]);
  return acc;
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
  out.out.y = empty_large_output(r.sizes(), opts);
  out.out.sT = at::empty({d.B, d.H, d.N, d.N}, opts);
  out.checkpoints = empty_large_output({d.B, d.H, d.chunks(), d.N, d.N}, opts);
#if defined(__AVX512F__)
  if (r.scalar_type() == at::kFloat && (d.N == 16 || d.N == 32 || d.N == 64 || d.N == 128)) {
    const avx512::Io io{rc.data_ptr<float>(), wc.data_ptr<float>(), kc.data_ptr<float>(), vc.data_ptr<float>(),
                        ac.data_ptr<float>(), bc.data_ptr<float>(), nullptr};
    const float* s0p = s0c.defined() ? s0c.data_ptr<float>() : nullptr;
    const bool shared = s0c.defined() && s0c.dim() == 3;
    float *y = out.out.y.data_ptr<float>(), *sT = out.out.sT.data_ptr<float>(), *ck = out.checkpoints.data_ptr<float>();
    dispatch_head_size(d.N, [&](auto n) {
      constexpr int kN = decltype(n)::value;
      if constexpr (kN > 0) avx512::forward_avx512<kN / 16>(d, io, s0p, shared, y, sT, ck);
    });
    return out;
  }
#endif
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
  // The kernels index the checkpoints without bounds: anything but this forward's own (e.g.
  // the CUDA path's, every 16 steps) must be an error, not a wrong read.
  const std::vector<int64_t> ck_shape{d.B, d.H, d.chunks(), d.N, d.N};
  ST_CHECK(checkpoints.defined() && checkpoints.sizes() == at::IntArrayRef(ck_shape) &&
               checkpoints.scalar_type() == r.scalar_type() && checkpoints.device() == r.device(),
           "wkv7_backward_cpu: checkpoints must be wkv7_forward_cpu's, {} {} (one state every {} steps), got {}",
           shape_str(ck_shape), std::string(c10::toString(r.scalar_type())), kCheckpointEvery,
           checkpoints.defined() ? shape_str(checkpoints.sizes()) + " " + std::string(c10::toString(checkpoints.scalar_type()))
                                 : std::string("undefined"));
  ST_CHECK(dy.defined() && dy.sizes() == r.sizes() && dy.scalar_type() == r.scalar_type(),
           "wkv7_backward_cpu: dy must have r's shape {} and dtype, got {}", shape_str(r.sizes()),
           dy.defined() ? shape_str(dy.sizes()) : std::string("undefined"));
  ST_CHECK(!dsT.defined() || (dsT.sizes() == at::IntArrayRef(std::vector<int64_t>{d.B, d.H, d.N, d.N}) &&
                              dsT.scalar_type() == r.scalar_type()),
           "wkv7_backward_cpu: dsT must be [B, H, N, N] = {} in r's dtype, got {}",
           shape_str(std::vector<int64_t>{d.B, d.H, d.N, d.N}), shape_str(dsT.sizes()));
  at::Tensor rc = r.contiguous(), wc = w.contiguous(), kc = k.contiguous(), vc = v.contiguous(),
             ac = a.contiguous(), bc = b.contiguous(), dyc = dy.contiguous(), ck = checkpoints.contiguous();
  at::Tensor dsTc = dsT.defined() ? dsT.contiguous() : dsT;
  auto opts = r.options();
  Wkv7Grads g;
  g.dr = empty_large_output(r.sizes(), opts);
  g.dw = empty_large_output(r.sizes(), opts);
  g.dk = empty_large_output(r.sizes(), opts);
  g.dv = empty_large_output(r.sizes(), opts);
  g.da = empty_large_output(r.sizes(), opts);
  g.db = empty_large_output(r.sizes(), opts);
  at::Tensor ds0 = at::empty({d.B, d.H, d.N, d.N}, opts);
#if defined(__AVX512F__)
  if (r.scalar_type() == at::kFloat && (d.N == 16 || d.N == 32 || d.N == 64 || d.N == 128)) {
    const avx512::Io io{rc.data_ptr<float>(), wc.data_ptr<float>(), kc.data_ptr<float>(), vc.data_ptr<float>(),
                        ac.data_ptr<float>(), bc.data_ptr<float>(), dyc.data_ptr<float>()};
    dispatch_head_size(d.N, [&](auto n) {
      constexpr int kN = decltype(n)::value;
      if constexpr (kN > 0)
        avx512::backward_avx512<kN / 16>(d, io, ck.data_ptr<float>(), dsTc.defined() ? dsTc.data_ptr<float>() : nullptr,
                                         g.dr.data_ptr<float>(), g.dw.data_ptr<float>(), g.dk.data_ptr<float>(),
                                         g.dv.data_ptr<float>(), g.da.data_ptr<float>(), g.db.data_ptr<float>(),
                                         ds0.data_ptr<float>());
    });
    if (s0.defined()) g.ds0 = s0.dim() == 3 ? sum_over_batch(ds0) : ds0;
    return g;
  }
#endif
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
  if (s0.defined()) g.ds0 = s0.dim() == 3 ? sum_over_batch(ds0) : ds0;
  return g;
}

}  // namespace statetune::kernels
