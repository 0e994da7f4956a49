#pragma once
// The one way kernels/cuda launches a kernel:
//
//   ST_CUDA_LAUNCH(grid, block, stream, kernel)(args...);
//
// Under nvcc this is exactly `kernel<<<grid, block, 0, stream>>>(args...)` (no dynamic shared
// memory anywhere here). The kernel comes last so that template arguments (`k<N, T>`) need no
// parentheses: it is the macro's variadic part.
//
// With STATETUNE_CUDA_EMULATION these .cu files are compiled as plain C++ for the tests, and the
// launch runs the kernel in the CPU emulation of the CUDA execution model
// (tests/gpu/emulation/cuda_emulation.h, which also defines threadIdx, __syncthreads,
// __shared__, ... for the kernels). Include this header before any file with device code.
#if defined(STATETUNE_CUDA_EMULATION)
#include "cuda_emulation.h"
#define ST_CUDA_LAUNCH(grid, block, stream, ...) \
  ::statetune::cuda_emulation::launcher((grid), (block), (stream), __VA_ARGS__)
#elif defined(__CUDACC__)
#define ST_CUDA_LAUNCH(grid, block, stream, ...) __VA_ARGS__<<<grid, block, 0, stream>>>
#else
#error "kernels/cuda/*.cu are compiled by nvcc, or as C++ with STATETUNE_CUDA_EMULATION (tests only)"
#endif
