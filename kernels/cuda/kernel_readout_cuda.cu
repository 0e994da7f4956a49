// Host launchers of the kernel read-out CUDA kernels: argument checks, the workspace layout,
// N dispatch and the launch sequence. See kernel_readout_cuda.cuh for the op, the layouts and
// the design; the kernels are in kernel_readout_cuda_kernels.cuh.
#include "kernel_readout_cuda.cuh"
#include "cuda_launch.cuh"  // before the device code: under emulation it defines threadIdx etc.
#include "kernel_readout_cuda_kernels.cuh"

#include <climits>

namespace statetune::kernels {
namespace {

namespace kd = kernel_readout_detail;

// Blocks of the backward over all heads (S = max(1, 512 / H) slices per head, at most one per
// tile): enough to fill an H100/H200 while bounding the partial-sum workspace.
constexpr int64_t kBackwardBlocks = 512;
constexpr int64_t kMaxGridStrideBlocks = 4096;
constexpr int64_t kAlignFloats = 64;  // 256-byte alignment of every workspace array

bool supported_n(int64_t N) { return N == 16 || N == 32 || N == 64 || N == 128; }

bool valid_dims(int64_t B, int64_t T, int64_t H, int64_t N, int64_t M) {
  if (B < 1 || T < 1 || H < 1 || H > 65535 || !supported_n(N) || M < 1 || M > kKernelReadoutCudaMaxM) return false;
  // B·T·H·max(N, M) elements must be indexable with int64 (with a wide margin).
  constexpr int64_t kLimit = int64_t(1) << 50;
  if (B > kLimit / T || B * T > kLimit / (H * kKernelReadoutCudaMaxM)) return false;
  const int64_t tt = N == 128 ? 16 : 32;
  return (B * T + tt - 1) / tt <= INT_MAX;  // tiles fit gridDim.x
}

int64_t tile_tokens(int64_t N) { return N == 128 ? 16 : 32; }
int64_t round_up(int64_t x, int64_t k) { return (x + k - 1) / k * k; }

// Offsets (in floats) of the workspace arrays, all per head, M padded to Mp.
struct WorkspaceLayout {
  int64_t Mp = 0, n_tiles = 0, S = 0;
  int64_t W = 0, Wt = 0, Ct = 0, Cp = 0, cc = 0, Rt = 0, S0t = 0, QS = 0;  // prep
  int64_t partS0 = 0, partP = 0, Psum = 0, Y = 0;                           // backward
  int64_t total = 0;
};

WorkspaceLayout workspace_layout(int64_t B, int64_t T, int64_t H, int64_t N, int64_t M) {
  WorkspaceLayout l;
  l.Mp = round_up(M, kd::kMC);
  l.n_tiles = (B * T + tile_tokens(N) - 1) / tile_tokens(N);
  const int64_t per_head = kBackwardBlocks / H;
  l.S = per_head < 1 ? 1 : per_head;
  if (l.S > l.n_tiles) l.S = l.n_tiles;
  int64_t off = 0;
  auto take = [&](int64_t floats) {
    const int64_t at = off;
    off += round_up(floats, kAlignFloats);
    return at;
  };
  l.W = take(H * N * l.Mp);
  l.Wt = take(H * l.Mp * N);
  l.Ct = take(H * N * l.Mp);
  l.Cp = take(H * l.Mp * N);
  l.cc = take(H * l.Mp);
  l.Rt = take(H * l.Mp * l.Mp);
  l.S0t = take(H * N * N);
  l.QS = take(H * N * l.Mp);
  l.partS0 = take(H * l.S * N * N);
  l.partP = take(H * l.S * N * l.Mp);
  l.Psum = take(H * N * l.Mp);
  l.Y = take(H * N * M);
  l.total = off;
  return l;
}

// Every launch goes through here: 256-thread blocks, no dynamic shared memory.
template <typename... KArgs, typename... Args>
cudaError_t launch(void (*kernel)(KArgs...), dim3 grid, cudaStream_t stream, Args... args) {
  ST_CUDA_LAUNCH(grid, kd::kThreads, stream, kernel)(static_cast<KArgs>(args)...);
  return cudaGetLastError();
}

dim3 grid_stride_blocks(int64_t total) {
  int64_t blocks = (total + kd::kThreads - 1) / kd::kThreads;
  if (blocks < 1) blocks = 1;
  if (blocks > kMaxGridStrideBlocks) blocks = kMaxGridStrideBlocks;
  return dim3(static_cast<unsigned>(blocks));
}

#define KR_TRY(call)                            \
  do {                                          \
    const cudaError_t kr_err_ = (call);         \
    if (kr_err_ != cudaSuccess) return kr_err_; \
  } while (0)

// dst[h][r][c] = src[h·sh + r·sr + c·sc] (r < VR, c < VC), 0 elsewhere in [DR][DC].
cudaError_t gather_pad(int64_t H, int64_t DR, int64_t DC, int64_t VR, int64_t VC, const float* src, int64_t sh,
                       int64_t sr, int64_t sc, float* dst, cudaStream_t stream) {
  return launch(kd::kr_gather_pad_kernel, grid_stride_blocks(H * DR * DC), stream, static_cast<int>(H), DR, DC,
                VR, VC, src, sh, sr, sc, dst);
}

// W = Q·Ŝ·R [H][N][Mp] (via QS = Q·Ŝ), zero-padded columns.
cudaError_t prep_w(int64_t H, int64_t N, int64_t M, const WorkspaceLayout& l, const float* Q, const float* S_hat,
                   const float* R, float* ws, cudaStream_t stream) {
  const dim3 grid = grid_stride_blocks(H * N * l.Mp);
  KR_TRY(launch(kd::kr_matmul_pad_kernel, grid, stream, static_cast<int>(H), N, M, M, l.Mp, Q, M, S_hat,
                ws + l.QS));
  return launch(kd::kr_matmul_pad_kernel, grid, stream, static_cast<int>(H), N, M, M, l.Mp,
                static_cast<const float*>(ws + l.QS), l.Mp, R, ws + l.W);
}

// Ct [H][N][Mp] = Cᵀ (zero-padded).
cudaError_t prep_ct(int64_t H, int64_t N, int64_t M, const WorkspaceLayout& l, const float* C, float* ws,
                    cudaStream_t stream) {
  return gather_pad(H, N, l.Mp, N, M, C, M * N, 1, N, ws + l.Ct, stream);
}

// The backward's copies of C: Ct, cc [H][Mp] = ‖c_m‖², and Cp [H][Mp][N] = C (padded) when
// `with_cp`.
cudaError_t prep_c_backward(int64_t H, int64_t N, int64_t M, const WorkspaceLayout& l, const float* C,
                            bool with_cp, float* ws, cudaStream_t stream) {
  KR_TRY(prep_ct(H, N, M, l, C, ws, stream));
  if (with_cp) KR_TRY(gather_pad(H, l.Mp, N, M, N, C, M * N, N, 1, ws + l.Cp, stream));
  return launch(kd::kr_sqnorm_kernel, grid_stride_blocks(H * l.Mp), stream, static_cast<int>(H),
                static_cast<int>(N), static_cast<int>(M), static_cast<int>(l.Mp), C, ws + l.cc);
}

// Rt [H][Mp][Mp] = Rᵀ, zero-padded.
cudaError_t prep_rt(int64_t H, int64_t M, const WorkspaceLayout& l, const float* R, float* ws, cudaStream_t stream) {
  return gather_pad(H, l.Mp, l.Mp, M, M, R, M * M, 1, M, ws + l.Rt, stream);
}

template <int N>
cudaError_t launch_forward(const KernelReadoutForwardParams& p, const WorkspaceLayout& l, cudaStream_t stream) {
  const float* ws = p.workspace;
  const dim3 grid(static_cast<unsigned>(l.n_tiles), static_cast<unsigned>(p.H));
  return launch(kd::kr_forward_kernel<N>, grid, stream, p.B * p.T, static_cast<int>(p.H), static_cast<int>(p.M),
                static_cast<int>(l.Mp), p.q, p.gamma, p.S0 != nullptr ? ws + l.S0t : nullptr, ws + l.Ct,
                ws + l.Wt, ws + l.Rt, p.o, p.z);
}

template <int N>
cudaError_t launch_backward(const KernelReadoutBackwardParams& p, const WorkspaceLayout& l, cudaStream_t stream) {
  float* ws = p.workspace;
  const dim3 grid(static_cast<unsigned>(l.S), static_cast<unsigned>(p.H));
  return launch(kd::kr_backward_kernel<N>, grid, stream, p.B * p.T, static_cast<int>(p.H), static_cast<int>(p.M),
                static_cast<int>(l.Mp), l.n_tiles, l.S, p.q, p.d_o, p.gamma, p.S0,
                static_cast<const float*>(ws + l.Ct), static_cast<const float*>(ws + l.Cp),
                static_cast<const float*>(ws + l.cc), static_cast<const float*>(ws + l.W), p.dq,
                p.dS0 != nullptr ? ws + l.partS0 : nullptr, p.dS_hat != nullptr ? ws + l.partP : nullptr);
}

}  // namespace

// ---- public API ----------------------------------------------------------------------------
size_t kernel_readout_cuda_workspace_bytes(int64_t B, int64_t T, int64_t H, int64_t N, int64_t M) {
  if (!valid_dims(B, T, H, N, M)) return 0;
  return static_cast<size_t>(workspace_layout(B, T, H, N, M).total) * sizeof(float);
}

int64_t kernel_readout_cuda_backward_slices(int64_t B, int64_t T, int64_t H, int64_t N) {
  if (!valid_dims(B, T, H, N, 1)) return 0;
  return workspace_layout(B, T, H, N, 1).S;
}

cudaError_t kernel_readout_forward_cuda(const KernelReadoutForwardParams& p, cudaStream_t stream) {
  if (!valid_dims(p.B, p.T, p.H, p.N, p.M)) return cudaErrorInvalidValue;
  if (!p.q || !p.C || !p.gamma || !p.R || !p.S_hat || !p.Q || !p.o || !p.workspace) return cudaErrorInvalidValue;
  const WorkspaceLayout l = workspace_layout(p.B, p.T, p.H, p.N, p.M);
  const int64_t H = p.H, N = p.N, M = p.M;
  float* ws = p.workspace;

  KR_TRY(prep_w(H, N, M, l, p.Q, p.S_hat, p.R, ws, stream));
  KR_TRY(gather_pad(H, l.Mp, N, l.Mp, N, ws + l.W, N * l.Mp, 1, l.Mp, ws + l.Wt, stream));  // Wt = Wᵀ
  KR_TRY(prep_ct(H, N, M, l, p.C, ws, stream));
  if (p.z != nullptr) KR_TRY(prep_rt(H, M, l, p.R, ws, stream));
  if (p.S0 != nullptr) KR_TRY(gather_pad(H, N, N, N, N, p.S0, N * N, 1, N, ws + l.S0t, stream));  // S0ᵀ

  switch (p.N) {
    case 16: return launch_forward<16>(p, l, stream);
    case 32: return launch_forward<32>(p, l, stream);
    case 64: return launch_forward<64>(p, l, stream);
    case 128: return launch_forward<128>(p, l, stream);
    default: return cudaErrorInvalidValue;
  }
}

cudaError_t kernel_readout_backward_cuda(const KernelReadoutBackwardParams& p, cudaStream_t stream) {
  if (!valid_dims(p.B, p.T, p.H, p.N, p.M)) return cudaErrorInvalidValue;
  if (!p.q || !p.C || !p.gamma || !p.R || !p.S_hat || !p.Q || !p.d_o || !p.workspace) return cudaErrorInvalidValue;
  if (!p.dq && !p.dS0 && !p.dS_hat) return cudaSuccess;  // nothing wanted
  const WorkspaceLayout l = workspace_layout(p.B, p.T, p.H, p.N, p.M);
  const int64_t H = p.H, N = p.N, M = p.M;
  float* ws = p.workspace;

  if (p.dq != nullptr) KR_TRY(prep_w(H, N, M, l, p.Q, p.S_hat, p.R, ws, stream));
  KR_TRY(prep_c_backward(H, N, M, l, p.C, /*with_cp=*/p.dq != nullptr, ws, stream));
  if (p.dS_hat != nullptr) KR_TRY(prep_rt(H, M, l, p.R, ws, stream));

  switch (p.N) {
    case 16: KR_TRY(launch_backward<16>(p, l, stream)); break;
    case 32: KR_TRY(launch_backward<32>(p, l, stream)); break;
    case 64: KR_TRY(launch_backward<64>(p, l, stream)); break;
    case 128: KR_TRY(launch_backward<128>(p, l, stream)); break;
    default: return cudaErrorInvalidValue;
  }

  // The deterministic cross-block sums (slice order), then dŜ = Qᵀ P Rᵀ per head.
  if (p.dS0 != nullptr)
    KR_TRY(launch(kd::kr_reduce_slices_kernel, grid_stride_blocks(H * N * N), stream, static_cast<int>(H), l.S,
                  N * N, static_cast<const float*>(ws + l.partS0), p.dS0));
  if (p.dS_hat != nullptr) {
    KR_TRY(launch(kd::kr_reduce_slices_kernel, grid_stride_blocks(H * N * l.Mp), stream, static_cast<int>(H), l.S,
                  N * l.Mp, static_cast<const float*>(ws + l.partP), ws + l.Psum));
    KR_TRY(launch(kd::kr_p_rt_kernel, grid_stride_blocks(H * N * M), stream, static_cast<int>(H),
                  static_cast<int>(N), static_cast<int>(M), static_cast<int>(l.Mp),
                  static_cast<const float*>(ws + l.Psum), static_cast<const float*>(ws + l.Rt), ws + l.Y));
    KR_TRY(launch(kd::kr_qt_y_kernel, grid_stride_blocks(H * M * M), stream, static_cast<int>(H),
                  static_cast<int>(N), static_cast<int>(M), p.Q, static_cast<const float*>(ws + l.Y), p.dS_hat));
  }
  return cudaSuccess;
}

#undef KR_TRY

}  // namespace statetune::kernels
