// kernel_readout on CUDA tensors: the shape checks of the CPU op plus the kernels' limits
// (fp32, N ∈ {16, 32, 64, 128}), outputs and the workspace as tensors, launch on the current
// stream (see cuda_backend.h; kernels/cuda/kernel_readout_cuda.cuh for the kernels).
#include "cuda_glue.h"
#include "kernel_readout_cuda.cuh"
#include "statetune/kernels/cuda_backend.h"

namespace statetune::kernels {
namespace {

struct Args {
  at::Tensor q, S0, C, gamma, R, S_hat, Q;  // contiguous; S0 undefined = zero
  int64_t B, T, H, N, M;
  at::Tensor workspace;

  Args(const char* op, const at::Tensor& q_, const at::Tensor& S0_, const at::Tensor& C_, const at::Tensor& gamma_,
       const at::Tensor& R_, const at::Tensor& S_hat_, const at::Tensor& Q_, const at::Tensor& d_o) {
    kernel_readout_check_inputs(q_, S0_, C_, gamma_, R_, S_hat_, Q_, d_o);
    ST_CHECK(q_.is_cuda(), "{}: tensors must be on a CUDA device, got {}", op, q_.device().str());
    ST_CHECK(q_.scalar_type() == at::kFloat, "{}: the CUDA read-out takes float32 tensors, got {}", op,
             c10::toString(q_.scalar_type()));
    q = q_.contiguous();
    S0 = S0_.defined() ? S0_.contiguous() : S0_;
    C = C_.contiguous();
    gamma = gamma_.contiguous();
    R = R_.contiguous();
    S_hat = S_hat_.contiguous();
    Q = Q_.contiguous();
    B = q.size(0);
    T = q.size(1);
    H = q.size(2);
    N = q.size(3);
    M = C.size(1);
    ST_CHECK(N == 16 || N == 32 || N == 64 || N == 128, "{}: head size N must be 16, 32, 64 or 128, got {}", op, N);
    ST_CHECK(M >= 1 && M <= kKernelReadoutCudaMaxM, "{}: M must be in [1, {}], got {}", op, kKernelReadoutCudaMaxM,
             M);
    const size_t bytes = kernel_readout_cuda_workspace_bytes(B, T, H, N, M);
    ST_CHECK(bytes > 0, "{}: sizes B={} T={} H={} N={} M={} are outside the CUDA kernels' limits", op, B, T, H, N, M);
    workspace = at::empty({static_cast<int64_t>((bytes + sizeof(float) - 1) / sizeof(float))}, f32());
  }
  at::TensorOptions f32() const { return q.options().dtype(at::kFloat); }

  template <typename P>
  void fill(P& p) const {
    p.B = B;
    p.T = T;
    p.H = H;
    p.N = N;
    p.M = M;
    p.q = q.data_ptr<float>();
    p.S0 = glue::f32_or_null(S0);
    p.C = C.data_ptr<float>();
    p.gamma = gamma.data_ptr<float>();
    p.R = R.data_ptr<float>();
    p.S_hat = S_hat.data_ptr<float>();
    p.Q = Q.data_ptr<float>();
    p.workspace = workspace.data_ptr<float>();
  }
};

}  // namespace

KernelReadoutOutput kernel_readout_forward_cuda(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                                const at::Tensor& gamma, const at::Tensor& R,
                                                const at::Tensor& S_hat, const at::Tensor& Q) {
  const char* op = "kernel_readout (CUDA forward)";
  const c10::cuda::CUDAGuard guard(q.device());
  const Args in(op, q, S0, C, gamma, R, S_hat, Q, at::Tensor());
  KernelReadoutOutput out;
  out.o = at::empty({in.B, in.T, in.H, in.N}, in.f32());
  out.z = at::empty({in.B, in.T, in.H, in.M}, in.f32());
  KernelReadoutForwardParams p;
  in.fill(p);
  p.o = out.o.data_ptr<float>();
  p.z = out.z.data_ptr<float>();
  glue::check_launch(op, kernel_readout_forward_cuda(p, glue::stream_of(in.q)));
  return out;
}

KernelReadoutGrads kernel_readout_backward_cuda(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                                const at::Tensor& gamma, const at::Tensor& R,
                                                const at::Tensor& S_hat, const at::Tensor& Q,
                                                const at::Tensor& d_o) {
  const char* op = "kernel_readout (CUDA backward)";
  const c10::cuda::CUDAGuard guard(q.device());
  const Args in(op, q, S0, C, gamma, R, S_hat, Q, d_o);
  const at::Tensor d_oc = d_o.contiguous();
  KernelReadoutGrads g;
  g.dq = at::empty({in.B, in.T, in.H, in.N}, in.f32());
  if (in.S0.defined()) g.dS0 = at::empty({in.H, in.N, in.N}, in.f32());
  g.dS_hat = at::empty({in.H, in.M, in.M}, in.f32());
  KernelReadoutBackwardParams p;
  in.fill(p);
  p.d_o = d_oc.data_ptr<float>();
  p.dq = g.dq.data_ptr<float>();
  p.dS0 = glue::f32_or_null(g.dS0);
  p.dS_hat = g.dS_hat.data_ptr<float>();
  glue::check_launch(op, kernel_readout_backward_cuda(p, glue::stream_of(in.q)));
  return g;
}

}  // namespace statetune::kernels
