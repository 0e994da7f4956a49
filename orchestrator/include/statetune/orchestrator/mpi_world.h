#pragma once
// MPI start-up for `statetune sweep`: MPI_Init on construction, MPI_Finalize on destruction.
// A process started without mpirun/srun is a world of one (MPI's singleton start), so the
// same binary runs a study on a laptop and across a cluster.
#include <mpi.h>

#include <string>

namespace statetune::orchestrator {

class MpiWorld {
 public:
  MpiWorld();
  ~MpiWorld();
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // The rank among the processes of this node (GPU index of a GPU build), and the node.
  int local_rank() const { return local_rank_; }
  const std::string& host() const { return host_; }

  // Splits the world into groups of `ranks_per_group` consecutive ranks (the world size must
  // be a multiple). The caller frees the returned communicator with MPI_Comm_free.
  MPI_Comm split_groups(int ranks_per_group) const;

  // Ends the whole job (every rank) after an error that leaves the others waiting.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0;
  std::string host_;
  bool finalize_ = false;
};

}  // namespace statetune::orchestrator
