#pragma once
// The two edges between the host and the compute device. Everything a run computes lives on
// its device; host data (token batches, lengths, masks, tokens of generation) goes there
// through to_device, and device values the host must see (the figures of a training step,
// the scores of an eval batch, a generated token) come back through to_host. A training step
// reads the host once, an eval batch once, a generation step once (see the dry-run test,
// tests/workers/device_dry_run_test.cpp).
//
// The meta device is a dry run: tensors with shapes and no values, on which any hidden host
// read (.item(), a CPU copy, a data-dependent shape) and any tensor made on the wrong device
// fail. to_host of a meta tensor returns zeros of its shape, so device-generic code can be
// run end to end on meta to show that it creates nothing on the CPU and reads the host only
// where it means to.
#include <cstdint>

#include <ATen/ATen.h>

namespace statetune::workers {

// A host tensor on `device`. On CUDA the copy is from pinned memory and asynchronous, so it
// does not wait for the work already queued on the device; elsewhere a plain copy (a no-op
// when `device` is the CPU).
at::Tensor to_device(const at::Tensor& host, const at::Device& device);

// The values of `t` on the host (a CPU tensor): a no-op on the CPU, a synchronising copy on a
// GPU, zeros of t's shape and dtype on the meta device. Counted (host_reads()).
at::Tensor to_host(const at::Tensor& t);

// How many times to_host has been called in this process (for the dry-run tests).
int64_t host_reads();

// True while this thread is inside to_device or to_host: the ops they dispatch are the edge's
// own copies (the dry-run tests tell them from a CPU tensor mixed in by mistake).
bool in_host_device_copy();

}  // namespace statetune::workers
