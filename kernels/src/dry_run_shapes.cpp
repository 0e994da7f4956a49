// The meta third of the ops (wkv7.h, kernel_readout.h): on the meta device tensors carry
// shapes and no values, so an op's "result" is empty tensors of the right shapes, dtypes and
// device. This lets the model, the trainer and the evaluator run end to end on meta, where any
// tensor made on the wrong device or any host read fails (workers/host_device.h).
#include "statetune/kernels/kernel_readout.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {

Wkv7Output wkv7_forward_meta(const at::Tensor& r, const at::Tensor& s0) {
  const int64_t B = r.size(0), H = r.size(2), N = r.size(3);
  return {at::empty_like(r), at::empty({B, H, N, N}, s0.options())};
}

Wkv7Grads wkv7_backward_meta(const at::Tensor& r, const at::Tensor& s0) {
  Wkv7Grads g;
  for (at::Tensor* d : {&g.dr, &g.dw, &g.dk, &g.dv, &g.da, &g.db}) *d = at::empty_like(r);
  g.ds0 = at::empty_like(s0);
  return g;
}

KernelReadoutOutput kernel_readout_forward_meta(const at::Tensor& q, const at::Tensor& S_hat) {
  const int64_t M = S_hat.size(-1);
  return {at::empty_like(q), at::empty({q.size(0), q.size(1), q.size(2), M}, q.options())};
}

KernelReadoutGrads kernel_readout_backward_meta(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& S_hat) {
  return {at::empty_like(q), at::empty_like(S0), at::empty_like(S_hat)};
}

}  // namespace statetune::kernels
