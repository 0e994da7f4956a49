#pragma once
// MPI_CHECK(call): every MPI call is checked; a failure throws statetune::Error naming the
// call, the file, the line and the world rank (nccl-tests' MPICHECK, as an exception).
#include <mpi.h>

#include "statetune/common/error.h"

namespace statetune::orchestrator {

[[noreturn]] inline void mpi_failed(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  int rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  fail("MPI error on rank {} at {}:{}: {} failed: {}", rank, file, line, call, std::string(text, static_cast<size_t>(length)));
}

}  // namespace statetune::orchestrator

#define MPI_CHECK(call)                                                                   \
  do {                                                                                    \
    const int mpi_check_code_ = (call);                                                   \
    if (mpi_check_code_ != MPI_SUCCESS)                                                   \
      ::statetune::orchestrator::mpi_failed(mpi_check_code_, #call, __FILE__, __LINE__); \
  } while (0)
