#pragma once
// What the plain GPU test programs (no gtest, no torch) share: CUDA_CHECK and the float64
// comparisons they report.
#include <cuda_runtime_api.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

// Every runtime call names file:line and the decoded error, then the program exits 1.
#define CUDA_CHECK(call)                                                                       \
  do {                                                                                         \
    const cudaError_t err_ = (call);                                                           \
    if (err_ != cudaSuccess) {                                                                 \
      std::fprintf(stderr, "%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #call,                \
                   cudaGetErrorName(err_), cudaGetErrorString(err_));                          \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

namespace statetune::gpu_test {

// Relative norm error ‖x − ref‖ / ‖ref‖ (the absolute norm when ref is 0).
inline double rel_err(const std::vector<double>& x, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t e = 0; e < ref.size(); ++e) {
    num += (x[e] - ref[e]) * (x[e] - ref[e]);
    den += ref[e] * ref[e];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

inline double dot(const std::vector<double>& x, const std::vector<double>& y) {
  double s = 0;
  for (size_t e = 0; e < x.size(); ++e) s += x[e] * y[e];
  return s;
}

// Central differences (loss(x + h·e_i) − loss(x − h·e_i)) / 2h for every element i of x,
// which loss() reads; x is restored element by element.
template <typename Loss>
std::vector<double> central_differences(std::vector<double>& x, double h, const Loss& loss) {
  std::vector<double> fd(x.size());
  for (size_t e = 0; e < x.size(); ++e) {
    const double x0 = x[e];
    x[e] = x0 + h;
    const double lp = loss();
    x[e] = x0 - h;
    const double lm = loss();
    x[e] = x0;
    fd[e] = (lp - lm) / (2 * h);
  }
  return fd;
}

// Prints the GPU the test runs on; false, after printing "no GPU: skipped", when there is none
// (the caller then exits 77, which ctest reports as skipped). Built against the CPU emulation
// (tests/gpu/emulation, STATETUNE_CUDA_EMULATION) it says so instead: nobody may read such a
// run as a GPU run.
inline bool announce_gpu() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    (void)cudaGetLastError();  // without a GPU the call fails; leave no error behind
    std::printf("no GPU: skipped\n");
    return false;
  }
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
#if defined(STATETUNE_CUDA_EMULATION)
  std::printf("NOT A GPU: the CUDA kernels run as C++ on the CPU, in the %s (tests/gpu/emulation);\n"
              "this checks their indexing, barriers and arithmetic, not nvcc, GPU math or timing\n",
              prop.name);
#else
  std::printf("GPU: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
#endif
  return true;
}

// The last line of a run.
inline const char* verdict(bool passed) {
#if defined(STATETUNE_CUDA_EMULATION)
  return passed ? "PASSED (CPU emulation of the CUDA kernels, not a GPU)"
                : "FAILED (CPU emulation of the CUDA kernels, not a GPU)";
#else
  return passed ? "PASSED" : "FAILED";
#endif
}

}  // namespace statetune::gpu_test
