// kernel_readout(): the read-out as a torch::autograd::Function, so the model's graph runs the
// fused fast backward (dq, dS0, dŜ) instead of differentiating ~15 ATen ops — and, above all,
// so the q → 0 convention of kernel_readout.h holds (autograd through q/‖q‖ would give NaN).
#include <torch/csrc/autograd/custom_function.h>

#include "statetune/common/error.h"
#include "statetune/kernels/cuda_backend.h"
#include "statetune/kernels/kernel_readout.h"

namespace statetune::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct KernelReadoutFunction : public torch::autograd::Function<KernelReadoutFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& S0,
                               const at::Tensor& C, const at::Tensor& gamma, const at::Tensor& R,
                               const at::Tensor& S_hat, const at::Tensor& Q) {
    // S0 always arrives defined here (zeros when the caller had none), so autograd has a slot.
    KernelReadoutOutput out = q.is_meta()   ? kernel_readout_forward_meta(q, S_hat)
                              : q.is_cuda() ? kernel_readout_forward_cuda(q, S0, C, gamma, R, S_hat, Q)
                                            : kernel_readout_forward_cpu(q, S0, C, gamma, R, S_hat, Q);
    ctx->save_for_backward({q, S0, C, gamma, R, S_hat, Q});
    ctx->mark_non_differentiable({out.z});  // DBP statistics only; R is updated outside autograd
    return {out.o, out.z};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto s = ctx->get_saved_variables();
    at::Tensor d_o = grad_outputs[0].defined() ? grad_outputs[0] : at::zeros_like(s[0]);
    KernelReadoutGrads g = s[0].is_meta()   ? kernel_readout_backward_meta(s[0], s[1], s[5])
                           : s[0].is_cuda() ? kernel_readout_backward_cuda(s[0], s[1], s[2], s[3], s[4], s[5], s[6], d_o)
                                            : kernel_readout_backward_cpu(s[0], s[1], s[2], s[3], s[4], s[5], s[6], d_o);
    return {g.dq, g.dS0, at::Tensor(), at::Tensor(), at::Tensor(), g.dS_hat, at::Tensor()};
  }
};

}  // namespace

KernelReadoutOutput kernel_readout(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                   const at::Tensor& gamma, const at::Tensor& R, const at::Tensor& S_hat,
                                   const at::Tensor& Q) {
  kernel_readout_check_inputs(q, S0, C, gamma, R, S_hat, Q);
  // The backward returns no gradient for these; a caller training them would silently get none.
  const char* names[] = {"C", "gamma", "R", "Q"};
  const at::Tensor* fixed[] = {&C, &gamma, &R, &Q};
  for (int i = 0; i < 4; ++i)
    ST_CHECK(!fixed[i]->requires_grad(), "kernel_readout: {} is a fixed buffer and must not require grad",
             names[i]);
  at::Tensor S0_defined = S0.defined() ? S0 : at::zeros({q.size(2), q.size(3), q.size(3)}, q.options());
  variable_list out = KernelReadoutFunction::apply(q, S0_defined, C, gamma, R, S_hat, Q);
  return {out[0], out[1]};
}

}  // namespace statetune::kernels
