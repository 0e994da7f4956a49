#include "statetune/orchestrator/mpi_world.h"

#include <unistd.h>

#include "comm/mpi_check.h"

namespace statetune::orchestrator {

MpiWorld::MpiWorld() {
  int initialized = 0;
  MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    // FUNNELED: only the main thread calls MPI; torch's worker threads never do.
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided));
    finalize_ = true;
  }
  // Errors come back as codes (MPI_CHECK turns them into messages) instead of aborting.
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_));
  MPI_Comm node;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  MPI_CHECK(MPI_Comm_rank(node, &local_rank_));
  MPI_CHECK(MPI_Comm_free(&node));
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  host_ = name;
}

MpiWorld::~MpiWorld() {
  if (finalize_) MPI_Finalize();
}

MPI_Comm MpiWorld::split_groups(int ranks_per_group) const {
  ST_CHECK(ranks_per_group >= 1 && size_ % ranks_per_group == 0,
           "--ranks-per-run {}: the world has {} ranks, which is not a multiple of it", ranks_per_group, size_);
  MPI_Comm group;
  MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, rank_ / ranks_per_group, rank_, &group));
  MPI_CHECK(MPI_Comm_set_errhandler(group, MPI_ERRORS_RETURN));
  return group;
}

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  _exit(code);
}

}  // namespace statetune::orchestrator
