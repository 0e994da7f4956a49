// NCCL all-reduce for a rank group (nccl_communicator.h): NCCL calls on torch CUDA tensors'
// raw pointers, enqueued on the device's current torch stream.
#include "statetune/orchestrator/nccl_communicator.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <map>

#include "comm/mpi_check.h"
#include "statetune/common/error.h"
#include "statetune/orchestrator/mpi_communicator.h"

#define CUDA_CHECK(call)                                                                          \
  do {                                                                                            \
    const cudaError_t cuda_check_error_ = (call);                                                 \
    if (cuda_check_error_ != cudaSuccess)                                                         \
      ::statetune::fail("CUDA error at {}:{}: {} failed: {}", __FILE__, __LINE__, #call,          \
                        cudaGetErrorString(cuda_check_error_));                                   \
  } while (0)

#define NCCL_CHECK(call)                                                                          \
  do {                                                                                            \
    const ncclResult_t nccl_check_result_ = (call);                                               \
    if (nccl_check_result_ != ncclSuccess)                                                        \
      ::statetune::fail("NCCL error at {}:{}: {} failed: {}", __FILE__, __LINE__, #call,          \
                        ncclGetErrorString(nccl_check_result_));                                  \
  } while (0)

namespace statetune::orchestrator {
namespace {

ncclDataType_t nccl_type(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    case at::kBFloat16: return ncclBfloat16;
    case at::kLong: return ncclInt64;
    case at::kInt: return ncclInt32;
    default: fail("NcclCommunicator: cannot all-reduce tensors of type {}", c10::toString(t));
  }
}

class NcclCommunicator final : public workers::Communicator {
 public:
  NcclCommunicator(MPI_Comm group, int device) : host_(group), device_(device) {
    int devices = 0;
    CUDA_CHECK(cudaGetDeviceCount(&devices));
    ST_CHECK(device >= 0 && device < devices, "comm: nccl: CUDA device {} is not visible to this rank ({} are)",
             device, devices);
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device_));
    ncclUniqueId id;
    if (host_.rank() == 0) NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_CHECK(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, group));
    NCCL_CHECK(ncclCommInitRank(&comm_, host_.size(), id, host_.rank()));
  }
  ~NcclCommunicator() override {
    if (comm_ != nullptr) ncclCommDestroy(comm_);
  }

  void all_reduce_sum(std::vector<at::Tensor>& tensors) override {
    std::vector<at::Tensor> on_host;
    std::vector<size_t> host_index;
    std::map<at::ScalarType, std::vector<size_t>> by_type;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (tensors[i].device().is_cpu()) {
        host_index.push_back(i);
        on_host.push_back(tensors[i]);
      } else {
        ST_CHECK(tensors[i].device() == at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_)),
                 "NcclCommunicator: tensor {} is on {}, the communicator on cuda:{}", i, tensors[i].device().str(),
                 device_);
        by_type[tensors[i].scalar_type()].push_back(i);
      }
    }
    // One NCCL call per dtype on a packed buffer, enqueued on the current torch stream: it runs
    // after the kernels that produced the gradients and before the ones that read the sums,
    // and the host does not wait for it. (The buffer's memory returns to the caching allocator
    // in stream order, so no later kernel can reuse it before the all-reduce has read it.)
    const cudaStream_t stream = c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(device_)).stream();
    for (const auto& [type, indices] : by_type) {
      std::vector<at::Tensor> flat;
      for (size_t i : indices) flat.push_back(tensors[i].reshape({-1}));
      at::Tensor buffer = at::cat(flat).contiguous();
      NCCL_CHECK(ncclAllReduce(buffer.data_ptr(), buffer.data_ptr(), static_cast<size_t>(buffer.numel()),
                               nccl_type(type), ncclSum, comm_, stream));
      int64_t offset = 0;
      for (size_t i : indices) {
        tensors[i].copy_(buffer.narrow(0, offset, tensors[i].numel()).view(tensors[i].sizes()));
        offset += tensors[i].numel();
      }
    }
    if (!on_host.empty()) host_.all_reduce_sum(on_host);  // in place: the same tensors
  }

  std::vector<std::string> all_gather(const std::string& payload) override { return host_.all_gather(payload); }
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }

 private:
  MpiCommunicator host_;
  int device_ = 0;
  ncclComm_t comm_ = nullptr;
};

}  // namespace

bool nccl_available() { return true; }

std::unique_ptr<workers::Communicator> make_nccl_communicator(MPI_Comm group, int device) {
  return std::make_unique<NcclCommunicator>(group, device);
}

}  // namespace statetune::orchestrator
