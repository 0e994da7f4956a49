#pragma once
// Device code of the kernel read-out (see kernel_readout_cuda.cuh for the op and the design).
// Included only by kernel_readout_cuda.cu; kept apart from the launchers so the kernels read
// on their own. Plain index math, __syncthreads only (no warp intrinsics, no atomics).
// defines: kr_forward_kernel, kr_backward_kernel, and the small prep / reduction kernels.
#include <cstdint>

namespace statetune::kernels::kernel_readout_detail {

constexpr int kThreads = 256;  // every kernel here runs 256-thread blocks
constexpr int kMC = 32;        // support vectors per chunk; M is padded to a multiple of it
constexpr int kLDC = kMC + 1;  // row stride of [TT][kMC] shared arrays (odd: no bank conflicts)
constexpr double kEps = 1e-12;  // == kKernelReadoutEps

// Tokens per tile: keeps the [TT][N + 1] shared arrays of the backward (three of them) plus
// the [TT][33] ones well under the 48 KiB static shared-memory limit.
template <int N>
struct TileOf {
  static constexpr int TT = N == 128 ? 16 : 32;
  static constexpr int LDN = N + 1;  // odd row stride
};

// ---- a register-tiled block product ---------------------------------------------------------
// Out is ROWS × COLS; thread `tid` owns rows ty + a·TY (a < RA) and columns tx + b·TX (b < RB),
// tx = tid % TX, ty = tid / TX. Consecutive threads own consecutive columns, so B reads are
// coalesced and, with TX = 32, A reads are warp-wide broadcasts.
template <int ROWS, int COLS>
struct Layout {
  static constexpr int TX = COLS < 32 ? COLS : 32;
  static constexpr int TY = kThreads / TX;
  static constexpr int RA = ROWS / TY;
  static constexpr int RB = COLS / TX;
  static_assert(kThreads % TX == 0 && RA * TY == ROWS && RB * TX == COLS && RA >= 1,
                "block product shape must tile the 256 threads exactly");
  __device__ static int tx() { return static_cast<int>(threadIdx.x) % TX; }
  __device__ static int ty() { return static_cast<int>(threadIdx.x) / TX; }
  __device__ static int row(int a) { return ty() + a * TY; }
  __device__ static int col(int b) { return tx() + b * TX; }
};

template <class L>
using Acc = float[L::RA][L::RB];

template <class L>
__device__ __forceinline__ void zero(Acc<L>& acc) {
#pragma unroll
  for (int a = 0; a < L::RA; ++a)
#pragma unroll
    for (int b = 0; b < L::RB; ++b) acc[a][b] = 0.f;
}

// acc[a][b] += Σ_{k<K} A[row(a)·ars + k·aks] · B[k·ldb + col(b)]   (kSqDist = false), or
// acc[a][b] += Σ_{k<K} (A[...] − B[...])²                           (kSqDist = true).
// A lives in shared memory; B in shared or global memory (read-only during the call).
// Sequential in k: deterministic.
template <class L, bool kSqDist = false>
__device__ __forceinline__ void block_mm(Acc<L>& acc, int K, const float* A, int ars, int aks, const float* B,
                                         int64_t ldb) {
  const int ty = L::ty(), tx = L::tx();
#pragma unroll 4
  for (int k = 0; k < K; ++k) {
    float av[L::RA], bv[L::RB];
#pragma unroll
    for (int a = 0; a < L::RA; ++a) av[a] = A[(ty + a * L::TY) * ars + k * aks];
#pragma unroll
    for (int b = 0; b < L::RB; ++b) bv[b] = B[int64_t(k) * ldb + tx + b * L::TX];
#pragma unroll
    for (int a = 0; a < L::RA; ++a)
#pragma unroll
      for (int b = 0; b < L::RB; ++b) {
        if (kSqDist) {
          const float d = av[a] - bv[b];
          acc[a][b] = fmaf(d, d, acc[a][b]);
        } else {
          acc[a][b] = fmaf(av[a], bv[b], acc[a][b]);
        }
      }
  }
}

// Block-private partial sums in global memory: load (or zero on the block's first tile) ...
template <class L>
__device__ __forceinline__ void load_partial(Acc<L>& acc, const float* P, int64_t ld, bool first) {
#pragma unroll
  for (int a = 0; a < L::RA; ++a)
#pragma unroll
    for (int b = 0; b < L::RB; ++b) acc[a][b] = first ? 0.f : P[int64_t(L::row(a)) * ld + L::col(b)];
}
// ... and store back. Each element is touched by the same thread every time: no race.
template <class L>
__device__ __forceinline__ void store_partial(const Acc<L>& acc, float* P, int64_t ld) {
#pragma unroll
  for (int a = 0; a < L::RA; ++a)
#pragma unroll
    for (int b = 0; b < L::RB; ++b) P[int64_t(L::row(a)) * ld + L::col(b)] = acc[a][b];
}

// ---- per-tile token setup --------------------------------------------------------------------
// Stage rows r0 .. r0+TT-1 of x [BT, H, N] for head h into x_s [TT][LDN] (zeros past BT).
template <int N>
__device__ __forceinline__ void load_tile(float* x_s, const float* x, int64_t r0, int64_t BT, int H, int h) {
  using Tl = TileOf<N>;
  for (int e = static_cast<int>(threadIdx.x); e < Tl::TT * N; e += kThreads) {
    const int t = e / N, j = e % N;
    const int64_t row = r0 + t;
    x_s[t * Tl::LDN + j] = row < BT ? x[(row * H + h) * N + j] : 0.f;
  }
}

// n_s[t] = ‖q_t‖ and rinv_s[t] = 1/‖q_t‖, both 0 when ‖q_t‖ ≤ eps (the token has no
// direction). One thread per token, in float64: O(N) per token against the O(N·M) of the
// features, and it makes u = q/n accurate to fp32 rounding (an fp32 norm would scale every u by
// 1 ± ~√N·2^-24 and shift every d² = ‖u − c‖² by as much) and the eps test exactly the
// reference's (no underflow of fp32 squares either).
template <int N>
__device__ __forceinline__ void token_norms(const float* q_s, float* n_s, double* rinv_s) {
  using Tl = TileOf<N>;
  const int t = static_cast<int>(threadIdx.x);
  if (t >= Tl::TT) return;
  const float* x = q_s + t * Tl::LDN;
  double s = 0.0;
  for (int j = 0; j < N; ++j) s = fma(double(x[j]), double(x[j]), s);
  const double n = sqrt(s);
  const bool has_dir = n > kEps;
  n_s[t] = has_dir ? static_cast<float>(n) : 0.f;
  rinv_s[t] = has_dir ? 1.0 / n : 0.0;
}

// u_s = q_s / n (0 for tokens without a direction).
template <int N>
__device__ __forceinline__ void directions(const float* q_s, const double* rinv_s, float* u_s) {
  using Tl = TileOf<N>;
  for (int e = static_cast<int>(threadIdx.x); e < Tl::TT * N; e += kThreads) {
    const int t = e / N, j = e % N;
    u_s[t * Tl::LDN + j] = static_cast<float>(double(q_s[t * Tl::LDN + j]) * rinv_s[t]);
  }
}

// e = exp(−γ‖u − c‖²), 0 for tokens without a direction and for padded support vectors.
// d2 = ‖u − c‖² is summed directly (not as 1 − 2u·c + ‖c‖²): its error is then relative to d2,
// so the large features (c near u, small d2) come out accurate to a few ulp; the dot form
// would carry an absolute error of ~√N·2^-24 into every γ·d2.
__device__ __forceinline__ float feature_e(float d2, float gamma, bool valid) {
  return valid ? expf(-gamma * d2) : 0.f;
}

// ---- forward -------------------------------------------------------------------------------------
// Grid (n_tiles, H), 256 threads. Prep arrays (per head, M padded to Mp):
//   S0t [N][N] = S0ᵀ (nullptr: no S0), Ct [N][Mp] = Cᵀ, Wt [Mp][N] = (QŜR)ᵀ,
//   Rt [Mp][Mp] = Rᵀ (only read when z is wanted).
template <int N>
__global__ void __launch_bounds__(kThreads)
    kr_forward_kernel(int64_t BT, int H, int M, int Mp, const float* __restrict__ q,
                      const float* __restrict__ gamma, const float* __restrict__ S0t,
                      const float* __restrict__ Ct, const float* __restrict__ Wt, const float* __restrict__ Rt, float* __restrict__ o,
                      float* __restrict__ z) {
  using Tl = TileOf<N>;
  constexpr int TT = Tl::TT, LDN = Tl::LDN;
  using LO = Layout<TT, N>;    // o tile [TT][N]
  using LF = Layout<TT, kMC>;  // feature / z chunk [TT][kMC]
  __shared__ float q_s[TT * LDN], u_s[TT * LDN], phi_s[TT * kLDC], n_s[TT];
  __shared__ double rinv_s[TT];

  const int h = static_cast<int>(blockIdx.y);
  const int64_t r0 = int64_t(blockIdx.x) * TT;
  const float gam = gamma[h];
  const float* Ct_h = Ct + int64_t(h) * N * Mp;
  const float* Wt_h = Wt + int64_t(h) * Mp * N;

  load_tile<N>(q_s, q, r0, BT, H, h);
  __syncthreads();
  token_norms<N>(q_s, n_s, rinv_s);
  __syncthreads();
  directions<N>(q_s, rinv_s, u_s);
  __syncthreads();

  Acc<LO> acc_o;
  zero<LO>(acc_o);
  if (S0t != nullptr) block_mm<LO>(acc_o, N, q_s, LDN, 1, S0t + int64_t(h) * N * N, N);  // S0 q

  for (int m0 = 0; m0 < Mp; m0 += kMC) {
    Acc<LF> D;
    zero<LF>(D);
    block_mm<LF, true>(D, N, u_s, LDN, 1, Ct_h + m0, Mp);  // D[t][m] = ‖u_t − c_{m0+m}‖²
#pragma unroll
    for (int a = 0; a < LF::RA; ++a)
#pragma unroll
      for (int b = 0; b < LF::RB; ++b) {
        const int t = LF::row(a), m = LF::col(b);
        const float n = n_s[t];
        phi_s[t * kLDC + m] = n * feature_e(D[a][b], gam, n > 0.f && m0 + m < M);
      }
    __syncthreads();
    block_mm<LO>(acc_o, kMC, phi_s, kLDC, 1, Wt_h + int64_t(m0) * N, N);  // o += W φ
    if (z != nullptr) {
      // z[t][r] += Σ_{m in chunk} R[r][m] φ[t][m], for every r (chunk by chunk, in z itself).
      for (int rc = 0; rc < Mp; rc += kMC) {
        Acc<LF> zacc;
#pragma unroll
        for (int a = 0; a < LF::RA; ++a)
#pragma unroll
          for (int b = 0; b < LF::RB; ++b) {
            const int64_t row = r0 + LF::row(a);
            const int r = rc + LF::col(b);
            zacc[a][b] = (m0 > 0 && row < BT && r < M) ? z[(row * H + h) * M + r] : 0.f;
          }
        block_mm<LF>(zacc, kMC, phi_s, kLDC, 1, Rt + (int64_t(h) * Mp + m0) * Mp + rc, Mp);
#pragma unroll
        for (int a = 0; a < LF::RA; ++a)
#pragma unroll
          for (int b = 0; b < LF::RB; ++b) {
            const int64_t row = r0 + LF::row(a);
            const int r = rc + LF::col(b);
            if (row < BT && r < M) z[(row * H + h) * M + r] = zacc[a][b];
          }
      }
    }
    __syncthreads();  // phi_s is rewritten by the next chunk
  }

#pragma unroll
  for (int a = 0; a < LO::RA; ++a)
#pragma unroll
    for (int b = 0; b < LO::RB; ++b) {
      const int64_t row = r0 + LO::row(a);
      if (row < BT) o[(row * H + h) * N + LO::col(b)] = acc_o[a][b];
    }
}

// ---- backward ------------------------------------------------------------------------------------
// Grid (S, H), 256 threads; block (s, h) handles tiles s, s + S, ... of head h. Prep arrays:
//   Ct [N][Mp] = Cᵀ, Cp [Mp][N] = C (padded), cc [Mp], W [N][Mp] = QŜR. S0 is the original
//   [H][N][N] (dq += S0ᵀ d_o reads it row-wise). Outputs: dq (optional) and the block's
//   partials partS0 [H][S][N][N] (Σ d_o qᵀ) and partP [H][S][N][Mp] (Σ d_o φᵀ), each optional.
template <int N>
__global__ void __launch_bounds__(kThreads)
    kr_backward_kernel(int64_t BT, int H, int M, int Mp, int64_t n_tiles, int64_t S,
                       const float* __restrict__ q, const float* __restrict__ d_o,
                       const float* __restrict__ gamma, const float* __restrict__ S0,
                       const float* __restrict__ Ct, const float* __restrict__ Cp,
                       const float* __restrict__ cc, const float* __restrict__ W, float* __restrict__ dq,
                       float* __restrict__ partS0, float* __restrict__ partP) {
  using Tl = TileOf<N>;
  constexpr int TT = Tl::TT, LDN = Tl::LDN;
  using LQ = Layout<TT, N>;    // dq tile [TT][N]
  using LF = Layout<TT, kMC>;  // feature chunk [TT][kMC]
  using LS = Layout<N, N>;     // Σ d_o qᵀ [N][N]
  using LP = Layout<N, kMC>;   // chunk of Σ d_o φᵀ [N][kMC]
  __shared__ float q_s[TT * LDN], u_s[TT * LDN], do_s[TT * LDN];
  __shared__ float phi_s[TT * kLDC], w_s[TT * kLDC], wg_s[TT * kLDC], n_s[TT], coef_s[TT];
  __shared__ double rinv_s[TT];

  const int h = static_cast<int>(blockIdx.y), tid = static_cast<int>(threadIdx.x);
  const int64_t s = blockIdx.x;
  const float gam = gamma[h];
  const float* Ct_h = Ct + int64_t(h) * N * Mp;
  const float* Cp_h = Cp + int64_t(h) * Mp * N;
  const float* cc_h = cc + int64_t(h) * Mp;
  const float* W_h = W + int64_t(h) * N * Mp;
  float* myS0 = partS0 != nullptr ? partS0 + (int64_t(h) * S + s) * N * N : nullptr;
  float* myP = partP != nullptr ? partP + (int64_t(h) * S + s) * N * Mp : nullptr;
  const bool want_dq = dq != nullptr;

  for (int64_t tile = s; tile < n_tiles; tile += S) {
    const bool first = tile == s;
    const int64_t r0 = tile * TT;
    load_tile<N>(q_s, q, r0, BT, H, h);
    load_tile<N>(do_s, d_o, r0, BT, H, h);
    __syncthreads();
    token_norms<N>(q_s, n_s, rinv_s);
    __syncthreads();
    directions<N>(q_s, rinv_s, u_s);
    if (tid < TT) coef_s[tid] = 0.f;
    __syncthreads();

    if (myS0 != nullptr) {  // Σ_t d_o[t][i] q[t][j]
      Acc<LS> acc;
      load_partial<LS>(acc, myS0, N, first);
      block_mm<LS>(acc, TT, do_s, 1, LDN, q_s, LDN);
      store_partial<LS>(acc, myS0, N);
    }

    Acc<LQ> acc_dq;
    zero<LQ>(acc_dq);
    if (want_dq && S0 != nullptr) block_mm<LQ>(acc_dq, N, do_s, LDN, 1, S0 + int64_t(h) * N * N, N);  // S0ᵀ d_o

    for (int m0 = 0; m0 < Mp; m0 += kMC) {
      Acc<LF> D, gphi;
      zero<LF>(D);
      block_mm<LF, true>(D, N, u_s, LDN, 1, Ct_h + m0, Mp);  // ‖u − c_m‖²
      zero<LF>(gphi);
      if (want_dq) block_mm<LF>(gphi, N, do_s, LDN, 1, W_h + m0, Mp);  // gφ = Wᵀ d_o
#pragma unroll
      for (int a = 0; a < LF::RA; ++a)
#pragma unroll
        for (int b = 0; b < LF::RB; ++b) {
          const int t = LF::row(a), m = LF::col(b);
          const float n = n_s[t];
          const float e = feature_e(D[a][b], gam, n > 0.f && m0 + m < M);
          const float G = 0.5f * ((1.f + cc_h[m0 + m]) - D[a][b]);  // u·c (‖u‖ = 1)
          const float w2 = 2.f * gam * (gphi[a][b] * e);              // 2γ w
          phi_s[t * kLDC + m] = n * e;
          w_s[t * kLDC + m] = w2;
          wg_s[t * kLDC + m] = fmaf(-w2, G, gphi[a][b] * e);  // w (1 − 2γ u·c)
        }
      __syncthreads();
      if (want_dq) {
        if (tid < TT) {  // coef_t += Σ_m w (1 − 2γ u·c), in m order
          float sum = coef_s[tid];
          for (int m = 0; m < kMC; ++m) sum += wg_s[tid * kLDC + m];
          coef_s[tid] = sum;
        }
        block_mm<LQ>(acc_dq, kMC, w_s, kLDC, 1, Cp_h + int64_t(m0) * N, N);  // += 2γ Σ_m w_m c_m
      }
      if (myP != nullptr) {  // Σ_t d_o[t][i] φ[t][m]
        Acc<LP> acc;
        load_partial<LP>(acc, myP + m0, Mp, first);
        block_mm<LP>(acc, TT, do_s, 1, LDN, phi_s, kLDC);
        store_partial<LP>(acc, myP + m0, Mp);
      }
      __syncthreads();  // phi_s, w_s, wg_s are rewritten by the next chunk; coef_s complete
    }

    if (want_dq) {
#pragma unroll
      for (int a = 0; a < LQ::RA; ++a)
#pragma unroll
        for (int b = 0; b < LQ::RB; ++b) {
          const int t = LQ::row(a), j = LQ::col(b);
          const int64_t row = r0 + t;
          if (row < BT) dq[(row * H + h) * N + j] = fmaf(u_s[t * LDN + j], coef_s[t], acc_dq[a][b]);
        }
    }
    __syncthreads();  // the next tile overwrites the shared arrays
  }
}

// ---- prep and reductions (small, one thread per output element, grid-stride) -------------------
__device__ __forceinline__ int64_t global_tid() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t global_stride() { return int64_t(gridDim.x) * blockDim.x; }

// dst[h][r][c] (r < DR, c < DC) = src[h·sh + r·sr + c·sc] where r < VR and c < VC, else 0:
// transposed and zero-padded copies of the inputs.
__global__ void __launch_bounds__(kThreads)
    kr_gather_pad_kernel(int H, int64_t DR, int64_t DC, int64_t VR, int64_t VC, const float* __restrict__ src,
                         int64_t sh, int64_t sr, int64_t sc, float* __restrict__ dst) {
  const int64_t total = int64_t(H) * DR * DC;
  for (int64_t e = global_tid(); e < total; e += global_stride()) {
    const int64_t h = e / (DR * DC), rc = e % (DR * DC), r = rc / DC, c = rc % DC;
    dst[e] = (r < VR && c < VC) ? src[h * sh + r * sr + c * sc] : 0.f;
  }
}

// cc[h][m] = ‖c_m‖² for m < M, 0 for the padding.
__global__ void __launch_bounds__(kThreads)
    kr_sqnorm_kernel(int H, int N, int M, int Mp, const float* __restrict__ C, float* __restrict__ cc) {
  const int64_t total = int64_t(H) * Mp;
  for (int64_t e = global_tid(); e < total; e += global_stride()) {
    const int64_t h = e / Mp, m = e % Mp;
    float s = 0.f;
    if (m < M) {
      const float* c = C + (h * M + m) * N;
      for (int j = 0; j < N; ++j) s = fmaf(c[j], c[j], s);
    }
    cc[e] = s;
  }
}

// out[h][i][m] = Σ_{k<K} A[h][i][k] · Bm[h][k][m] for m < M, 0 for M ≤ m < Mp.
// A [H][I][K] with row stride lda; Bm [H][K][M]. (Q·Ŝ, then (QŜ)·R: both [I = N][Mp].)
__global__ void __launch_bounds__(kThreads)
    kr_matmul_pad_kernel(int H, int64_t I, int64_t K, int64_t M, int64_t Mp, const float* __restrict__ A,
                         int64_t lda, const float* __restrict__ Bm, float* __restrict__ out) {
  const int64_t total = int64_t(H) * I * Mp;
  for (int64_t e = global_tid(); e < total; e += global_stride()) {
    const int64_t h = e / (I * Mp), im = e % (I * Mp), i = im / Mp, m = im % Mp;
    float s = 0.f;
    if (m < M) {
      const float* a = A + (h * I + i) * lda;
      const float* b = Bm + h * K * M + m;
      for (int64_t k = 0; k < K; ++k) s = fmaf(a[k], b[k * M], s);
    }
    out[e] = s;
  }
}

// out[h][e] = Σ_{s<S} part[h][s][e] (e < E), added in slice order: the deterministic
// cross-block reduction.
__global__ void __launch_bounds__(kThreads)
    kr_reduce_slices_kernel(int H, int64_t S, int64_t E, const float* __restrict__ part, float* __restrict__ out) {
  const int64_t total = int64_t(H) * E;
  for (int64_t x = global_tid(); x < total; x += global_stride()) {
    const int64_t h = x / E, e = x % E;
    const float* p = part + h * S * E + e;
    float acc = 0.f;
    for (int64_t s = 0; s < S; ++s) acc += p[s * E];
    out[x] = acc;
  }
}

// Y[h][i][b] = Σ_{m<M} P[h][i][m] · R[h][b][m], via Rt [Mp][Mp] = Rᵀ (coalesced in b).
// P is [H][N][Mp]; Y is [H][N][M].
__global__ void __launch_bounds__(kThreads)
    kr_p_rt_kernel(int H, int N, int M, int Mp, const float* __restrict__ P, const float* __restrict__ Rt,
                   float* __restrict__ Y) {
  const int64_t total = int64_t(H) * N * M;
  for (int64_t e = global_tid(); e < total; e += global_stride()) {
    const int64_t h = e / (int64_t(N) * M), ib = e % (int64_t(N) * M), i = ib / M, b = ib % M;
    const float* p = P + (h * N + i) * Mp;
    const float* rt = Rt + h * Mp * Mp + b;
    float s = 0.f;
    for (int m = 0; m < M; ++m) s = fmaf(p[m], rt[int64_t(m) * Mp], s);
    Y[e] = s;
  }
}

// dŜ[h][a][b] = Σ_{i<N} Q[h][i][a] · Y[h][i][b]  (Qᵀ Y; Q [H][N][M], Y [H][N][M]).
__global__ void __launch_bounds__(kThreads)
    kr_qt_y_kernel(int H, int N, int M, const float* __restrict__ Q, const float* __restrict__ Y,
                   float* __restrict__ dS_hat) {
  const int64_t MM = int64_t(M) * M;
  const int64_t total = int64_t(H) * MM;
  for (int64_t e = global_tid(); e < total; e += global_stride()) {
    const int64_t h = e / MM, ab = e % MM, a = ab / M, b = ab % M;
    const float* qa = Q + h * N * M + a;
    const float* yb = Y + h * N * M + b;
    float s = 0.f;
    for (int i = 0; i < N; ++i) s = fmaf(qa[int64_t(i) * M], yb[int64_t(i) * M], s);
    dS_hat[e] = s;
  }
}

}  // namespace statetune::kernels::kernel_readout_detail
