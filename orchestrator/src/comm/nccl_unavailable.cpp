// The stand-in for builds without NCCL (see nccl_communicator.h); nccl/ has the real one.
#ifndef STATETUNE_WITH_NCCL
#include "statetune/common/error.h"
#include "statetune/orchestrator/nccl_communicator.h"

namespace statetune::orchestrator {

bool nccl_available() { return false; }

std::unique_ptr<workers::Communicator> make_nccl_communicator(MPI_Comm, int) {
  fail("comm: nccl: this statetune was built without NCCL (CMake did not find CUDA and NCCL); use comm: mpi");
}

}  // namespace statetune::orchestrator
#endif
