#pragma once
// The GPU data-parallel Communicator: NCCL all-reduce of CUDA tensors within a rank group.
// One NCCL communicator per group; its unique id is made by the group's rank 0 and broadcast
// over the group's MPI communicator. Host data (CPU tensors such as the trainer's loss and
// token totals, and all_gather payloads) goes over MPI.
//
// Built when CMake finds CUDA and NCCL (STATETUNE_WITH_NCCL); otherwise make_nccl_communicator
// fails with a clear message. Only a LibTorch with CUDA puts tensors on GPUs, so on a CPU-only
// LibTorch this communicator compiles but `comm: auto` never picks it.
#include <mpi.h>

#include <memory>

#include "statetune/workers/communicator.h"

namespace statetune::orchestrator {

// True when this binary was built with NCCL.
bool nccl_available();

// The rank uses CUDA device local_rank % (devices visible): ranks map to GPUs by local rank.
std::unique_ptr<workers::Communicator> make_nccl_communicator(MPI_Comm group, int local_rank);

}  // namespace statetune::orchestrator
