// wkv7(): the WKV-7 op as a torch::autograd::Function, so the model's autograd graph runs
// the fast CPU backward (and, in a CUDA build, the CUDA one) instead of T small ATen ops.
#include <torch/csrc/autograd/custom_function.h>

#include "statetune/kernels/cuda_backend.h"
#include "statetune/kernels/wkv7.h"

namespace statetune::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Wkv7Function : public torch::autograd::Function<Wkv7Function> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& r, const at::Tensor& w, const at::Tensor& k,
                               const at::Tensor& v, const at::Tensor& a, const at::Tensor& b,
                               const at::Tensor& s0) {
    // s0 always arrives defined here (zeros when the caller had none), so autograd has a slot.
    // Saved: the inputs, the state checkpoints and (CUDA only) sa_t of every step.
    if (r.is_meta()) {
      ctx->save_for_backward({r, w, k, v, a, b, s0, at::Tensor(), at::Tensor()});
      Wkv7Output out = wkv7_forward_meta(r, s0);
      return {out.y, out.sT};
    }
    if (r.is_cuda()) {
      Wkv7CudaSavedForward saved = wkv7_forward_cuda(r, w, k, v, a, b, s0, /*save=*/true);
      ctx->save_for_backward({r, w, k, v, a, b, s0, saved.checkpoints, saved.sa});
      return {saved.out.y, saved.out.sT};
    }
    Wkv7SavedForward saved = wkv7_forward_cpu(r, w, k, v, a, b, s0);
    ctx->save_for_backward({r, w, k, v, a, b, s0, saved.checkpoints, at::Tensor()});
    return {saved.out.y, saved.out.sT};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    auto s = ctx->get_saved_variables();
    at::Tensor dy = grad_outputs[0].defined() ? grad_outputs[0] : at::zeros_like(s[0]);
    Wkv7Grads g = s[0].is_meta()   ? wkv7_backward_meta(s[0], s[6])
                  : s[0].is_cuda() ? wkv7_backward_cuda(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], dy,
                                                        grad_outputs[1])
                                   : wkv7_backward_cpu(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], dy, grad_outputs[1]);
    return {g.dr, g.dw, g.dk, g.dv, g.da, g.db, g.ds0};
  }
};

}  // namespace

Wkv7Output wkv7(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0) {
  if (r.defined() && r.is_cuda()) {
    // The CUDA kernels read bf16/fp16 directly (fp32 state); wkv7_forward_cuda checks the rest.
    at::Tensor s0_defined = s0.defined() ? s0 : at::zeros({r.size(0), r.size(2), r.size(3), r.size(3)},
                                                          r.options().dtype(at::kFloat));
    variable_list out = Wkv7Function::apply(r, w, k, v, a, b, s0_defined);
    return {out[0], out[1]};
  }
  const at::ScalarType io = r.defined() ? r.scalar_type() : at::kFloat;
  if (io == at::kBFloat16 || io == at::kHalf) {
    // bf16/fp16 inputs: the state and the arithmetic stay fp32 (as in the official kernels);
    // inputs are widened exactly, y is rounded back to the input dtype, sT stays fp32.
    auto f = [](const at::Tensor& t) { return t.defined() ? t.to(at::kFloat) : t; };
    Wkv7Output out = wkv7(f(r), f(w), f(k), f(v), f(a), f(b), f(s0));
    return {out.y.to(io), out.sT};
  }
  wkv7_check_inputs(r, w, k, v, a, b, s0);
  at::Tensor s0_defined = s0.defined() ? s0 : at::zeros({r.size(0), r.size(2), r.size(3), r.size(3)}, r.options());
  variable_list out = Wkv7Function::apply(r, w, k, v, a, b, s0_defined);
  return {out[0], out[1]};
}

}  // namespace statetune::kernels
