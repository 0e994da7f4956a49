#pragma once
// The GPU data-parallel Communicator: NCCL all-reduce of CUDA tensors within a rank group.
// One NCCL communicator per group; its unique id is made by the group's rank 0 and broadcast
// over the group's MPI communicator. Host data (CPU tensors such as the trainer's loss and
// token totals, and all_gather payloads) goes over MPI.
//
// Built when the LibTorch has CUDA and CMake finds NCCL (STATETUNE_WITH_NCCL: the torch wheel's
// own libnccl.so.2 first, the one libtorch_cuda loads); otherwise make_nccl_communicator fails
// with a clear message.
#include <mpi.h>

#include <memory>

#include "statetune/workers/communicator.h"

namespace statetune::orchestrator {

// True when this binary was built with NCCL.
bool nccl_available();

// Collective over `group`: every rank calls it, each with the CUDA device its run computes on
// (placement.h: local_rank % GPUs). All-reduces run on that device's current stream, with no
// host copy and no host synchronisation; explicit all-reduces run even in a group of one.
std::unique_ptr<workers::Communicator> make_nccl_communicator(MPI_Comm group, int device);

}  // namespace statetune::orchestrator
