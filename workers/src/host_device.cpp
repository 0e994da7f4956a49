#include "statetune/workers/host_device.h"

#include <atomic>

namespace statetune::workers {
namespace {

std::atomic<int64_t> g_host_reads{0};
thread_local int t_copy_depth = 0;

struct InCopy {
  InCopy() { ++t_copy_depth; }
  ~InCopy() { --t_copy_depth; }
};

}  // namespace

at::Tensor to_device(const at::Tensor& host, const at::Device& device) {
  if (!host.defined() || host.device() == device) return host;
  const InCopy copying;
  if (device.is_cuda() && host.is_cpu()) return host.pin_memory().to(device, /*non_blocking=*/true);
  return host.to(device);
}

at::Tensor to_host(const at::Tensor& t) {
  ++g_host_reads;
  const InCopy copying;
  if (t.is_meta()) return at::zeros(t.sizes(), t.options().device(at::kCPU));
  return t.to(at::kCPU);
}

int64_t host_reads() { return g_host_reads.load(); }

bool in_host_device_copy() { return t_copy_depth > 0; }

}  // namespace statetune::workers
