#include "statetune/orchestrator/mpi_communicator.h"

#include <map>

#include "comm/mpi_check.h"

namespace statetune::orchestrator {
namespace {

MPI_Datatype mpi_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    case at::kLong: return MPI_INT64_T;
    case at::kInt: return MPI_INT32_T;
    default: fail("MpiCommunicator: cannot all-reduce tensors of type {}", c10::toString(t));
  }
}

// Half types travel as float32 (MPI has no such type); everything else as itself.
at::ScalarType wire_type(at::ScalarType t) { return t == at::kHalf || t == at::kBFloat16 ? at::kFloat : t; }

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  MPI_CHECK(MPI_Comm_rank(comm_, &rank_));
  MPI_CHECK(MPI_Comm_size(comm_, &size_));
}

void MpiCommunicator::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (size_ == 1) return;
  // The tensors of each wire type, in order, packed into one contiguous buffer. Every rank
  // passes the same list (same shapes and dtypes), so the buffers line up.
  std::map<at::ScalarType, std::vector<size_t>> by_type;
  for (size_t i = 0; i < tensors.size(); ++i) {
    ST_CHECK(tensors[i].device().is_cpu() || tensors[i].device().is_cuda(),
             "MpiCommunicator: tensor {} is on {}, expected the CPU or a GPU", i, tensors[i].device().str());
    by_type[wire_type(tensors[i].scalar_type())].push_back(i);
  }
  // MPI reads host memory: GPU tensors travel through host copies (and the host waits for
  // them); `comm: auto` gives a GPU run with several ranks NCCL instead.
  for (const auto& [type, indices] : by_type) {
    std::vector<at::Tensor> flat;
    for (size_t i : indices) flat.push_back(tensors[i].reshape({-1}).to(at::kCPU, type));
    at::Tensor buffer = at::cat(flat).contiguous();
    ST_CHECK(buffer.numel() <= INT32_MAX, "MpiCommunicator: {} elements in one all-reduce", buffer.numel());
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, buffer.data_ptr(), static_cast<int>(buffer.numel()), mpi_type(type), MPI_SUM,
                            comm_));
    int64_t offset = 0;
    for (size_t i : indices) {
      at::Tensor& t = tensors[i];
      t.copy_(buffer.narrow(0, offset, t.numel()).view(t.sizes()));  // in place, also for views
      offset += t.numel();
    }
  }
}

std::vector<std::string> MpiCommunicator::all_gather(const std::string& payload) {
  if (size_ == 1) return {payload};
  ST_CHECK(payload.size() <= INT32_MAX, "MpiCommunicator: a {}-byte all-gather", payload.size());
  const int mine = static_cast<int>(payload.size());
  std::vector<int> sizes(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
  MPI_CHECK(MPI_Allgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm_));
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    offsets[static_cast<size_t>(r)] = static_cast<int>(total);
    total += sizes[static_cast<size_t>(r)];
  }
  ST_CHECK(total <= INT32_MAX, "MpiCommunicator: a {}-byte all-gather", total);
  std::string all(static_cast<size_t>(total), '\0');
  MPI_CHECK(MPI_Allgatherv(payload.data(), mine, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, comm_));
  std::vector<std::string> out;
  for (int r = 0; r < size_; ++r)
    out.push_back(all.substr(static_cast<size_t>(offsets[static_cast<size_t>(r)]), static_cast<size_t>(sizes[static_cast<size_t>(r)])));
  return out;
}

}  // namespace statetune::orchestrator
