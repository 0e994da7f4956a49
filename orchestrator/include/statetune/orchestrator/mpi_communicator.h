#pragma once
// The CPU data-parallel Communicator: all-reduce over an MPI communicator (a rank group).
// Tensors of one dtype travel packed in one buffer, so a step costs one MPI_Allreduce per
// dtype however many state tensors the method tunes. float16/bfloat16 (no MPI type) are
// summed in float32 and rounded back.
#include <mpi.h>

#include "statetune/workers/communicator.h"

namespace statetune::orchestrator {

class MpiCommunicator final : public workers::Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm);  // does not take ownership

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override;
  std::vector<std::string> all_gather(const std::string& payload) override;
  int rank() const override { return rank_; }
  int size() const override { return size_; }

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace statetune::orchestrator
