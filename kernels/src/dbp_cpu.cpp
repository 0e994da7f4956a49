// DBP fast path: the rule of dbp.h as batched ATen ops over the heads (M ≤ a few hundred, so
// one [H, M, M] matmul per step; this runs on whatever device R and X live on).
#include "statetune/common/error.h"
#include "statetune/kernels/dbp.h"
#include "statetune/kernels/shape_str.h"

namespace statetune::kernels {

at::Tensor dbp_second_moment_sum_cpu(const at::Tensor& z, const at::Tensor& mask) {
  ST_CHECK(z.dim() == 4, "dbp: z must be [B, T, H, M], got {}", shape_str(z.sizes()));
  const int64_t B = z.size(0), T = z.size(1), H = z.size(2), M = z.size(3);
  at::Tensor zd = z.detach().to(at::kDouble).reshape({B * T, H, M});
  if (mask.defined()) {
    ST_CHECK(mask.dim() == 2 && mask.size(0) == B && mask.size(1) == T, "dbp: mask must be [B, T] = [{}, {}], got {}",
             B, T, shape_str(mask.sizes()));
    const at::Tensor real = mask.reshape({B * T}).to(at::kBool);
    // On the CPU the real rows are taken out; elsewhere the padding rows are zeroed instead,
    // since taking rows by a mask reads the mask on the host (the result's size depends on it).
    zd = zd.is_cpu() ? zd.index({real}) : zd * real.to(at::kDouble).view({B * T, 1, 1});
  }
  at::Tensor per_head = zd.permute({1, 2, 0});  // [H, M, n]
  return at::bmm(per_head, per_head.transpose(1, 2));
}

DbpStep dbp_update_cpu(const at::Tensor& R, const at::Tensor& X, const DbpOptions& opt) {
  ST_CHECK(R.dim() == 3 && R.size(1) == R.size(2) && R.sizes() == X.sizes(),
           "dbp: R and X must both be [H, M, M], got {} and {}", shape_str(R.sizes()), shape_str(X.sizes()));
  const int64_t M = R.size(1);
  const at::Tensor r = R.to(at::kDouble), x = X.to(at::kDouble);
  const double off = M > 1 ? (1 - opt.kappa) / static_cast<double>(M - 1) : 0.0;
  const at::Tensor diag = x.diagonal(0, 1, 2);             // [H, M]
  const at::Tensor c = x - at::diag_embed(diag);            // off-diagonal part
  const at::Tensor v = diag - 1;
  const at::Tensor l_decor = (off * c.square().sum({1, 2}) + opt.kappa * v.square().sum(1)) / static_cast<double>(M);
  const at::Tensor delta = opt.lambda * (off * at::bmm(c, r) + (2 * opt.kappa) * v.unsqueeze(2) * r);
  at::Tensor scale = at::ones({R.size(0)}, r.options());
  if (opt.max_rel_step > 0) {
    const at::Tensor dn = delta.flatten(1).norm(2, 1), rn = r.flatten(1).norm(2, 1);
    scale = at::where(dn > 0, at::clamp_max(opt.max_rel_step * rn / dn.clamp_min(1e-300), 1.0), scale);
  }
  return {(r - scale.view({-1, 1, 1}) * delta).to(R.scalar_type()), l_decor, scale};
}

}  // namespace statetune::kernels
