#pragma once
// The gradient-reduction hook of data-parallel tuning. Workers see only this interface;
// the orchestrator provides NCCL, MPI or local implementations (ARCHITECTURE.md).
#include <string>
#include <vector>

#include <ATen/ATen.h>

namespace statetune::workers {

class Communicator {
 public:
  virtual ~Communicator() = default;
  // Sums each tensor element-wise across the ranks of the group, in place.
  virtual void all_reduce_sum(std::vector<at::Tensor>& tensors) = 0;
  // Every rank's `payload`, in rank order, on every rank: small host data such as the
  // records of a sharded evaluation.
  virtual std::vector<std::string> all_gather(const std::string& payload) = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
};

// One process: the reduction is the identity.
class LocalCommunicator final : public Communicator {
 public:
  void all_reduce_sum(std::vector<at::Tensor>&) override {}
  std::vector<std::string> all_gather(const std::string& payload) override { return {payload}; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
};

}  // namespace statetune::workers
