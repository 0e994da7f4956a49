// wkv7 on CUDA tensors: checks, outputs and workspaces as tensors, launch on the current stream
// (see cuda_backend.h for the conventions, kernels/cuda/wkv7_cuda.cuh for the kernels).
#include "cuda_glue.h"
#include "statetune/kernels/cuda_backend.h"
#include "wkv7_cuda.cuh"

namespace statetune::kernels {
namespace {

Wkv7DType kernel_dtype(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return Wkv7DType::kF32;
    case at::kBFloat16: return Wkv7DType::kBF16;
    case at::kHalf: return Wkv7DType::kF16;
    default: fail("wkv7 (CUDA): inputs must be float32, bfloat16 or float16, got {}", c10::toString(t));
  }
}

// Shapes as the CPU op, plus the CUDA kernels' own limits: a CUDA device, N ∈ {16, 32, 64, 128},
// an fp32 s0 whatever the input dtype.
void check_cuda_inputs(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                       const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0) {
  wkv7_check_shapes(r, w, k, v, a, b, s0);
  ST_CHECK(r.is_cuda(), "wkv7 (CUDA): inputs must be on a CUDA device, got {}", r.device().str());
  kernel_dtype(r.scalar_type());
  const int64_t N = r.size(3);
  ST_CHECK(N == 16 || N == 32 || N == 64 || N == 128, "wkv7 (CUDA): head size N must be 16, 32, 64 or 128, got {}",
           N);
  ST_CHECK(!s0.defined() || s0.scalar_type() == at::kFloat, "wkv7 (CUDA): s0 must be float32 (the state is fp32), got {}",
           c10::toString(s0.scalar_type()));
}

struct Inputs {
  at::Tensor r, w, k, v, a, b;
  Inputs(const at::Tensor& r_, const at::Tensor& w_, const at::Tensor& k_, const at::Tensor& v_,
         const at::Tensor& a_, const at::Tensor& b_)
      : r(r_.contiguous()), w(w_.contiguous()), k(k_.contiguous()), v(v_.contiguous()), a(a_.contiguous()),
        b(b_.contiguous()) {}
  int64_t B() const { return r.size(0); }
  int64_t T() const { return r.size(1); }
  int64_t H() const { return r.size(2); }
  int64_t N() const { return r.size(3); }
  int64_t n_chunks() const { return (T() + kWkv7CudaChunk - 1) / kWkv7CudaChunk; }
  at::TensorOptions f32() const { return r.options().dtype(at::kFloat); }

  template <typename P>
  void fill(P& p) const {
    p.dtype = kernel_dtype(r.scalar_type());
    p.B = B();
    p.T = T();
    p.H = H();
    p.N = N();
    p.r = r.data_ptr();
    p.w = w.data_ptr();
    p.k = k.data_ptr();
    p.v = v.data_ptr();
    p.a = a.data_ptr();
    p.b = b.data_ptr();
  }
};

}  // namespace

Wkv7CudaSavedForward wkv7_forward_cuda(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k,
                                       const at::Tensor& v, const at::Tensor& a, const at::Tensor& b,
                                       const at::Tensor& s0, bool save) {
  check_cuda_inputs(r, w, k, v, a, b, s0);
  const c10::cuda::CUDAGuard guard(r.device());
  const Inputs in(r, w, k, v, a, b);
  const at::Tensor s0c = s0.defined() ? s0.contiguous() : s0;

  Wkv7CudaSavedForward out;
  out.out.y = at::empty_like(in.r);
  out.out.sT = at::empty({in.B(), in.H(), in.N(), in.N()}, in.f32());
  if (save) {
    out.checkpoints = at::empty({in.B(), in.H(), in.n_chunks(), in.N(), in.N()}, in.f32());
    out.sa = at::empty({in.B(), in.T(), in.H(), in.N()}, in.f32());
  }
  Wkv7ForwardParams p;
  in.fill(p);
  p.s0 = glue::f32_or_null(s0c);
  p.s0_shared = s0c.defined() && s0c.dim() == 3;
  p.y = out.out.y.data_ptr();
  p.sT = out.out.sT.data_ptr<float>();
  p.checkpoints = glue::f32_or_null(out.checkpoints);
  p.sa = glue::f32_or_null(out.sa);
  glue::check_launch("wkv7 (CUDA forward)", wkv7_forward_cuda(p, glue::stream_of(in.r)));
  return out;
}

Wkv7Grads wkv7_backward_cuda(const at::Tensor& r, const at::Tensor& w, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& a, const at::Tensor& b, const at::Tensor& s0,
                             const at::Tensor& checkpoints, const at::Tensor& sa, const at::Tensor& dy,
                             const at::Tensor& dsT) {
  check_cuda_inputs(r, w, k, v, a, b, s0);
  const c10::cuda::CUDAGuard guard(r.device());
  const Inputs in(r, w, k, v, a, b);
  const char* op = "wkv7 (CUDA backward)";
  const at::Device dev = in.r.device();
  glue::expect_tensor(op, "checkpoints", checkpoints, dev, at::kFloat,
                      {in.B(), in.H(), in.n_chunks(), in.N(), in.N()});
  glue::expect_tensor(op, "sa", sa, dev, at::kFloat, {in.B(), in.T(), in.H(), in.N()});
  glue::expect_tensor(op, "dy", dy, dev, in.r.scalar_type(), in.r.sizes());
  if (dsT.defined()) glue::expect_tensor(op, "dsT", dsT, dev, at::kFloat, {in.B(), in.H(), in.N(), in.N()});
  const at::Tensor ckc = checkpoints.contiguous(), sac = sa.contiguous(), dyc = dy.contiguous();
  const at::Tensor dsTc = dsT.defined() ? dsT.contiguous() : dsT;

  Wkv7Grads g;
  g.dr = at::empty_like(in.r);
  g.dw = at::empty_like(in.r);
  g.dk = at::empty_like(in.r);
  g.dv = at::empty_like(in.r);
  g.da = at::empty_like(in.r);
  g.db = at::empty_like(in.r);
  if (s0.defined()) g.ds0 = at::empty(s0.sizes(), in.f32());
  const at::Tensor scratch = at::empty({in.B(), in.H(), kWkv7CudaChunk, in.N(), in.N()}, in.f32());

  Wkv7BackwardParams p;
  in.fill(p);
  p.checkpoints = ckc.data_ptr<float>();
  p.sa = sac.data_ptr<float>();
  p.dy = dyc.data_ptr();
  p.dsT = glue::f32_or_null(dsTc);
  p.s0_shared = s0.defined() && s0.dim() == 3;
  p.dr = g.dr.data_ptr();
  p.dw = g.dw.data_ptr();
  p.dk = g.dk.data_ptr();
  p.dv = g.dv.data_ptr();
  p.da = g.da.data_ptr();
  p.db = g.db.data_ptr();
  p.ds0 = glue::f32_or_null(g.ds0);
  p.backward_scratch = scratch.data_ptr<float>();
  glue::check_launch(op, wkv7_backward_cuda(p, glue::stream_of(in.r)));
  return g;
}

}  // namespace statetune::kernels
