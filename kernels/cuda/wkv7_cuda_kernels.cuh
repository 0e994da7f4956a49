#pragma once
// Device code of the WKV-7 kernels (see wkv7_cuda.cuh for the op and the design). Included
// only by wkv7_cuda.cu; kept apart from the launchers so the kernels read on their own.
// defines: wkv7_forward_kernel, wkv7_backward_kernel, wkv7_reduce_ds0_kernel
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

namespace statetune::kernels::wkv7_detail {

constexpr int kChunk = 16;  // == kWkv7CudaChunk

// ---- dtype conversion ---------------------------------------------------------------------
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) { return x; }
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <>
__device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }

// Optional outputs: a null pointer means "not wanted" (uniform branch, no divergence).
template <typename T>
__device__ __forceinline__ void store_opt(T* p, int64_t idx, float x) {
  if (p != nullptr) p[idx] = from_float<T>(x);
}

// ---- math helpers -------------------------------------------------------------------------
// One element of the state update, S·w + sa·b + v·k. Forward and backward recomputation both
// call this one function with the same operands, so the recomputed states are bit-identical
// to the forward's (the explicit fmaf leaves the compiler no contraction choice).
__device__ __forceinline__ float wkv7_update(float s, float w, float sa, float b, float v, float k) {
  return fmaf(s, w, fmaf(sa, b, v * k));
}

// Σ_j x[j]·y[j] with x in registers (fully unrolled) and y usually in shared memory. Four
// partial sums break the N-long FMA dependency chain.
template <int N>
__device__ __forceinline__ float dot(const float (&x)[N], const float* y) {
  float acc0 = 0.f, acc1 = 0.f, acc2 = 0.f, acc3 = 0.f;
#pragma unroll
  for (int j = 0; j < N; j += 4) {
    acc0 = fmaf(x[j + 0], y[j + 0], acc0);
    acc1 = fmaf(x[j + 1], y[j + 1], acc1);
    acc2 = fmaf(x[j + 2], y[j + 2], acc2);
    acc3 = fmaf(x[j + 3], y[j + 3], acc3);
  }
  return (acc0 + acc1) + (acc2 + acc3);
}

// ---- forward --------------------------------------------------------------------------------
// Grid: B·H blocks (block = b·H + h), N threads; thread i owns state row i (N fp32 registers).
// Per step each thread stages element i of r, w, k, a, b in shared memory; the buffers are
// double-buffered by t's parity, so one __syncthreads per step suffices: a thread can only
// overwrite buffer (t & 1) at step t + 2 after passing step t + 1's barrier, which every thread
// reaches only after finishing its reads of step t.
template <int N, typename T>
__global__ void __launch_bounds__(N)
    wkv7_forward_kernel(int T_len, int H, const T* __restrict__ r, const T* __restrict__ w,
                        const T* __restrict__ k, const T* __restrict__ v, const T* __restrict__ a,
                        const T* __restrict__ b, const float* __restrict__ s0, bool s0_shared,
                        T* __restrict__ y, float* __restrict__ sT, float* __restrict__ ckpt,
                        float* __restrict__ sa_out) {
  static_assert(N % 4 == 0, "N must be a multiple of 4");
  constexpr int64_t NN = int64_t(N) * N;
  const int bh = blockIdx.x, bi = bh / H, h = bh % H, i = threadIdx.x;

  __shared__ __align__(16) float r_s[2][N], w_s[2][N], k_s[2][N], a_s[2][N], b_s[2][N];

  float state[N];  // state[j] = S[i][j]
  if (s0 != nullptr) {
    const float* src = s0 + (s0_shared ? h : bh) * NN + int64_t(i) * N;
#pragma unroll
    for (int j = 0; j < N; ++j) state[j] = src[j];
  } else {
#pragma unroll
    for (int j = 0; j < N; ++j) state[j] = 0.f;
  }

  const int n_chunks = (T_len + kChunk - 1) / kChunk;
  float* my_ckpt = ckpt != nullptr ? ckpt + int64_t(bh) * n_chunks * NN + int64_t(i) * N : nullptr;
  const int64_t t_stride = int64_t(H) * N;  // [B, T, H, N]: one step is H·N elements
  int64_t idx = (int64_t(bi) * T_len * H + h) * N + i;

  for (int t = 0; t < T_len; ++t, idx += t_stride) {
    const int buf = t & 1;
    r_s[buf][i] = to_float(r[idx]);
    w_s[buf][i] = to_float(w[idx]);
    k_s[buf][i] = to_float(k[idx]);
    a_s[buf][i] = to_float(a[idx]);
    b_s[buf][i] = to_float(b[idx]);
    const float vi = to_float(v[idx]);
    if (my_ckpt != nullptr && t % kChunk == 0) {
      // The state BEFORE step t: the backward restarts chunk t/16 from it. Row i is N
      // contiguous floats per thread (strided across the warp, but only once per 16 steps).
      float* dst = my_ckpt + int64_t(t / kChunk) * NN;
#pragma unroll
      for (int j = 0; j < N; ++j) dst[j] = state[j];
    }
    __syncthreads();

    const float sa = dot<N>(state, a_s[buf]);
    if (sa_out != nullptr) sa_out[idx] = sa;
#pragma unroll
    for (int j = 0; j < N; ++j) state[j] = wkv7_update(state[j], w_s[buf][j], sa, b_s[buf][j], vi, k_s[buf][j]);
    y[idx] = from_float<T>(dot<N>(state, r_s[buf]));
  }

  if (sT != nullptr) {
    float* dst = sT + int64_t(bh) * NN + int64_t(i) * N;
#pragma unroll
    for (int j = 0; j < N; ++j) dst[j] = state[j];
  }
}

// ---- backward -------------------------------------------------------------------------------
// Grid: B·H blocks, N threads. Thread j holds, in registers:
//   S[i]  = S[i][j]  column j of the state (S_t, then S_{t-1}),
//   GT[i] = G[i][j]  column j of G = dL/dS_t,
//   Gr[c] = G[j][c]  row j of G,
// so the column reductions (dr, dw, dk, db, da: indexed by the key index j) use S and GT, and
// the row reductions (dv, dsa: indexed by the value index, here also j) use Gr, all without
// cross-thread sums. GT and Gr hold the same matrix and are updated with identical operands,
// so they stay bit-identical. The only exchange per step is dsa (through shared memory).
// Register use is 3N floats/thread: fine for N ≤ 64; N = 128 spills to (L1-cached) local memory.
//
// Per chunk c (steps t0 .. t0+L-1), walking chunks from the last:
//   1. recompute: S = checkpoint c; for each step write S_{t-1} to the block's scratch slot
//      t - t0 and step S forward (column form: needs v and the forward's saved sa, no sums);
//   2. backward over the chunk, reading S_{t-1} back from the scratch. The scratch is private
//      to the thread (thread j only touches column j), so no barrier guards it.
// Scratch layout [bh][slot][i][j]: for fixed i a warp touches consecutive j, i.e. coalesced.
template <int N, typename T>
__global__ void __launch_bounds__(N)
    wkv7_backward_kernel(int T_len, int H, const T* __restrict__ r, const T* __restrict__ w,
                         const T* __restrict__ k, const T* __restrict__ v, const T* __restrict__ a,
                         const T* __restrict__ b, const float* __restrict__ ckpt,
                         const float* __restrict__ sa, const T* __restrict__ dy,
                         const float* __restrict__ dsT, T* __restrict__ dr, T* __restrict__ dw,
                         T* __restrict__ dk, T* __restrict__ dv, T* __restrict__ da, T* __restrict__ db,
                         float* __restrict__ ds0_direct, float* __restrict__ scratch) {
  static_assert(N % 4 == 0, "N must be a multiple of 4");
  constexpr int64_t NN = int64_t(N) * N;
  const int bh = blockIdx.x, bi = bh / H, h = bh % H, j = threadIdx.x;

  __shared__ __align__(16) float r_s[2][N], w_s[2][N], k_s[2][N], v_s[2][N], a_s[2][N], b_s[2][N],
      dy_s[2][N], sa_s[2][N];
  __shared__ __align__(16) float dsa_s[N];

  float S[N], GT[N], Gr[N];
  if (dsT != nullptr) {
    const float* g = dsT + int64_t(bh) * NN;
#pragma unroll
    for (int i = 0; i < N; ++i) GT[i] = g[int64_t(i) * N + j];
#pragma unroll
    for (int c = 0; c < N; ++c) Gr[c] = g[int64_t(j) * N + c];
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) GT[i] = Gr[i] = 0.f;
  }

  const int n_chunks = (T_len + kChunk - 1) / kChunk;
  const float* my_ckpt = ckpt + int64_t(bh) * n_chunks * NN + j;
  float* my_scratch = scratch + int64_t(bh) * kChunk * NN + j;
  const int64_t t_stride = int64_t(H) * N;
  const int64_t idx0 = (int64_t(bi) * T_len * H + h) * N + j;  // element (b, t = 0, h, j)

  for (int c = n_chunks - 1; c >= 0; --c) {
    const int t0 = c * kChunk;
    const int L = min(kChunk, T_len - t0);

    // 1. Recompute S_{t0-1} .. S_{t0+L-1} forward from the checkpoint; keep the last in S.
#pragma unroll
    for (int i = 0; i < N; ++i) S[i] = my_ckpt[int64_t(c) * NN + int64_t(i) * N];
    for (int s = 0; s < L; ++s) {
      const int64_t idx = idx0 + int64_t(t0 + s) * t_stride;
      const int buf = s & 1;
      v_s[buf][j] = to_float(v[idx]);
      sa_s[buf][j] = sa[idx];
      const float wj = to_float(w[idx]), kj = to_float(k[idx]), bj = to_float(b[idx]);
#pragma unroll
      for (int i = 0; i < N; ++i) my_scratch[s * NN + int64_t(i) * N] = S[i];  // S_{t-1}
      __syncthreads();
#pragma unroll
      for (int i = 0; i < N; ++i) S[i] = wkv7_update(S[i], wj, sa_s[buf][i], bj, v_s[buf][i], kj);
    }
    __syncthreads();  // phase change: every thread is done reading the recompute buffers

    // 2. Backward through the chunk. On entry to step t, S = S_t and G = dL/dS_t (from the
    //    steps after t; G excludes y_t's own term until line "G += dy rᵀ").
    for (int s = L - 1; s >= 0; --s) {
      const int64_t idx = idx0 + int64_t(t0 + s) * t_stride;
      const int buf = s & 1;
      r_s[buf][j] = to_float(r[idx]);
      w_s[buf][j] = to_float(w[idx]);
      k_s[buf][j] = to_float(k[idx]);
      v_s[buf][j] = to_float(v[idx]);
      a_s[buf][j] = to_float(a[idx]);
      b_s[buf][j] = to_float(b[idx]);
      dy_s[buf][j] = to_float(dy[idx]);
      sa_s[buf][j] = sa[idx];
      __syncthreads();
      const float rj = r_s[buf][j], wj = w_s[buf][j], aj = a_s[buf][j], dyj = dy_s[buf][j];

      // G += dy_t r_tᵀ (y_t reads S_t).
#pragma unroll
      for (int i = 0; i < N; ++i) GT[i] = fmaf(dy_s[buf][i], rj, GT[i]);
#pragma unroll
      for (int cc = 0; cc < N; ++cc) Gr[cc] = fmaf(dyj, r_s[buf][cc], Gr[cc]);

      const float drj = dot<N>(S, dy_s[buf]);    // dr[j] = Σ_i S_t[i][j] dy[i]
      const float dvj = dot<N>(Gr, k_s[buf]);    // dv[j] = Σ_c G[j][c] k[c]
      const float dsaj = dot<N>(Gr, b_s[buf]);   // dsa[j] = Σ_c G[j][c] b[c]
      dsa_s[j] = dsaj;
      const float dkj = dot<N>(GT, v_s[buf]);    // dk[j] = Σ_i G[i][j] v[i]
      const float dbj = dot<N>(GT, sa_s[buf]);   // db[j] = Σ_i G[i][j] sa[i]

#pragma unroll
      for (int i = 0; i < N; ++i) S[i] = my_scratch[s * NN + int64_t(i) * N];  // now S_{t-1}
      const float dwj = dot<N>(GT, S);           // dw[j] = Σ_i G[i][j] S_{t-1}[i][j]
      __syncthreads();                           // dsa_s complete
      const float daj = dot<N>(S, dsa_s);        // da[j] = Σ_i S_{t-1}[i][j] dsa[i]

      // G <- G diag(w) + dsa aᵀ = dL/dS_{t-1}.
#pragma unroll
      for (int i = 0; i < N; ++i) GT[i] = fmaf(GT[i], wj, dsa_s[i] * aj);
#pragma unroll
      for (int cc = 0; cc < N; ++cc) Gr[cc] = fmaf(Gr[cc], w_s[buf][cc], dsaj * a_s[buf][cc]);

      store_opt(dr, idx, drj);
      store_opt(dw, idx, dwj);
      store_opt(dk, idx, dkj);
      store_opt(dv, idx, dvj);
      store_opt(da, idx, daj);
      store_opt(db, idx, dbj);
    }
    __syncthreads();  // phase change: the next chunk's recompute reuses v_s / sa_s
  }

  // ds0 = G after step 0. Either straight to the output ([B,H,N,N], or [H,N,N] when B = 1),
  // or to scratch slot 0 for the deterministic batch sum of wkv7_reduce_ds0_kernel.
  float* dst = ds0_direct != nullptr ? ds0_direct + int64_t(bh) * NN + j : my_scratch;
#pragma unroll
  for (int i = 0; i < N; ++i) dst[int64_t(i) * N] = GT[i];
}

// ds0[h][e] = Σ_b scratch[b][h][slot 0][e], added in batch order (deterministic, no atomics).
__global__ void wkv7_reduce_ds0_kernel(int B, int H, int64_t NN, const float* __restrict__ scratch,
                                       float* __restrict__ ds0) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= int64_t(H) * NN) return;
  const int64_t h = e / NN, ij = e % NN;
  float acc = 0.f;
  for (int bi = 0; bi < B; ++bi) acc += scratch[((int64_t(bi) * H + h) * kChunk) * NN + ij];
  ds0[e] = acc;
}

}  // namespace statetune::kernels::wkv7_detail
