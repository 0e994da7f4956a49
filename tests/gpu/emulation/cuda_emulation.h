#pragma once
// CPU emulation of the CUDA execution model, so that CI (which has no GPU) runs the logic of the
// kernels in kernels/cuda/: the same .cu files, compiled as plain C++ with
// -DSTATETUNE_CUDA_EMULATION (see tests/CMakeLists.txt), reached through ST_CUDA_LAUNCH
// (kernels/cuda/cuda_launch.cuh), and linked with cuda_emulation_runtime.cpp (the scheduler)
// and cuda_emulation_cudart.cpp (a fake CUDA runtime) INSTEAD of cudart.
//
// What is modelled:
//  * every CUDA thread of a block is a fiber (its own stack, so its "registers" are its own);
//    the fibers of a block take turns on one OS thread, each running until its next
//    __syncthreads; a phase ends when every thread has arrived, then the next one starts. The
//    turn order alternates between ascending and descending threadIdx from phase to phase, so a
//    missing barrier lets some thread read or overwrite shared data too early whichever side of
//    the block it is on. Blocks run one after another (no block may depend on another: true
//    on a GPU too).
//  * __shared__ arrays are function-local statics: one copy per kernel instantiation, seen by
//    all threads of the running block (a block may find the previous block's values there, as
//    a GPU may leave garbage).
//  * a barrier that not every thread of the block reaches (one thread exits while others wait)
//    aborts with a message: undefined behaviour (a hang) on a GPU.
//  * "device" memory is host memory; cudaMalloc fills it with 0xff bytes (NaN as float) so a
//    kernel that reads memory nobody wrote shows it.
//  * bad launch configurations (block > 1024 threads, grid too large) fail as on a GPU.
// What is NOT modelled: warps (there are no warp intrinsics here), the GPU's floating-point
// contraction and its expf/sqrt (host libm is used), the memory model beyond __syncthreads,
// shared-memory size limits, timing, nvcc itself. A pass here says the indexing, the barrier
// placement and the arithmetic are right; it is not a GPU run.
//
// Built with -fsanitize=thread, the runtime also tells ThreadSanitizer about the fibers and the
// barriers, so TSan reports two threads of one phase touching the same element (a race on a
// GPU) whatever the turn order: also the races that change no result here, such as a thread
// storing into shared memory the very value another is reading. Not part of CI (a one-off
// check; see cuda_emulation_runtime.cpp).
#include <cuda_bf16.h>  // CUDA's own types and bf16/fp16 host conversions, before the macros below
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <tuple>

// ---- the device-code vocabulary the kernels use, as plain C++ ----------------------------
// (CUDA's host_defines.h already makes __global__, __device__, __host__, __forceinline__ and
// __align__ harmless for a host compiler; these four it leaves to nvcc.)
#undef __shared__
#define __shared__ static
#define __launch_bounds__(...)
#define __syncthreads() ::statetune::cuda_emulation::syncthreads()
#define threadIdx (static_cast<const uint3&>(::statetune::cuda_emulation::g_thread_idx))
#define blockIdx (static_cast<const uint3&>(::statetune::cuda_emulation::g_block_idx))
#define blockDim (static_cast<const dim3&>(::statetune::cuda_emulation::g_block_dim))
#define gridDim (static_cast<const dim3&>(::statetune::cuda_emulation::g_grid_dim))
using std::max;  // device-side min/max
using std::min;

namespace statetune::cuda_emulation {

// The running thread's coordinates (set by the runtime before each fiber resumes).
extern uint3 g_thread_idx, g_block_idx;
extern dim3 g_block_dim, g_grid_dim;

// Suspends the calling thread until every thread of its block has arrived.
void syncthreads();

// Runs body(args) as every thread of every block of the grid; launch errors (bad
// configuration) are left for cudaGetLastError, as a real launch does. Launch from one host
// thread at a time.
using ThreadBody = void (*)(const void* args);
void run_grid(dim3 grid, dim3 block, ThreadBody body, const void* args);

// The last launch error, reset to cudaSuccess (cudaGetLastError).
cudaError_t take_launch_error();

// ST_CUDA_LAUNCH(grid, block, stream, kernel)(args...): the arguments convert to the kernel's
// parameter types as in a call; each thread gets its own copy, as on a GPU. Synchronous: the
// stream is ignored (every launch has finished when the call returns).
template <typename... KArgs>
class Launch {
 public:
  Launch(dim3 grid, dim3 block, void (*kernel)(KArgs...)) : grid_(grid), block_(block), kernel_(kernel) {}
  void operator()(KArgs... args) const {
    struct Bound {
      void (*kernel)(KArgs...);
      std::tuple<KArgs...> args;
    } bound{kernel_, std::tuple<KArgs...>(args...)};
    run_grid(grid_, block_, [](const void* p) {
      const Bound& b = *static_cast<const Bound*>(p);
      std::apply(b.kernel, b.args);
    }, &bound);
  }

 private:
  dim3 grid_, block_;
  void (*kernel_)(KArgs...);
};

template <typename... KArgs>
Launch<KArgs...> launcher(dim3 grid, dim3 block, cudaStream_t /*stream*/, void (*kernel)(KArgs...)) {
  return Launch<KArgs...>(grid, block, kernel);
}

}  // namespace statetune::cuda_emulation
