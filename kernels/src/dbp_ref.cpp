// DBP reference: the rule of dbp.h written as plain loops over float64 copies.
#include <cmath>
#include <vector>

#include "statetune/common/error.h"
#include "statetune/kernels/dbp.h"
#include "statetune/kernels/shape_str.h"

namespace statetune::kernels {
namespace {

void check_square_stack(const at::Tensor& t, const char* name) {
  ST_CHECK(t.dim() == 3 && t.size(1) == t.size(2), "dbp: {} must be [H, M, M], got {}", name, shape_str(t.sizes()));
}

}  // namespace

at::Tensor dbp_second_moment_sum_ref(const at::Tensor& z, const at::Tensor& mask) {
  ST_CHECK(z.dim() == 4, "dbp: z must be [B, T, H, M], got {}", shape_str(z.sizes()));
  const int64_t B = z.size(0), T = z.size(1), H = z.size(2), M = z.size(3);
  ST_CHECK(!mask.defined() || (mask.dim() == 2 && mask.size(0) == B && mask.size(1) == T),
           "dbp: mask must be [B, T] = [{}, {}], got {}", B, T, mask.defined() ? shape_str(mask.sizes()) : "");
  const at::Tensor z64 = z.to(at::kDouble).contiguous();
  auto zz = z64.accessor<double, 4>();
  at::Tensor m = mask.defined() ? mask.to(at::kBool).contiguous() : at::ones({B, T}, at::kBool);
  auto ma = m.accessor<bool, 2>();
  at::Tensor out = at::zeros({H, M, M}, at::kDouble);
  auto o = out.accessor<double, 3>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      if (!ma[b][t]) continue;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < M; ++j) o[h][i][j] += zz[b][t][h][i] * zz[b][t][h][j];
    }
  return out;
}

DbpStep dbp_update_ref(const at::Tensor& R, const at::Tensor& X, const DbpOptions& opt) {
  check_square_stack(R, "R");
  check_square_stack(X, "X");
  ST_CHECK(R.sizes() == X.sizes(), "dbp: R {} and X {} differ in shape", shape_str(R.sizes()), shape_str(X.sizes()));
  const int64_t H = R.size(0), M = R.size(1);
  const at::Tensor r64 = R.to(at::kDouble).contiguous(), x64 = X.to(at::kDouble).contiguous();
  auto r = r64.accessor<double, 3>();
  auto x = x64.accessor<double, 3>();
  at::Tensor out = at::empty({H, M, M}, at::kDouble), loss = at::empty({H}, at::kDouble),
             scale = at::empty({H}, at::kDouble);
  auto o = out.accessor<double, 3>();
  auto loss_a = loss.accessor<double, 1>();
  auto scale_a = scale.accessor<double, 1>();
  const double off = M > 1 ? (1 - opt.kappa) / static_cast<double>(M - 1) : 0.0;
  for (int64_t h = 0; h < H; ++h) {
    // L_decor of X.
    double sum_c2 = 0, sum_v2 = 0;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < M; ++j) {
        if (i == j) {
          sum_v2 += (x[h][i][i] - 1) * (x[h][i][i] - 1);
        } else {
          sum_c2 += x[h][i][j] * x[h][i][j];
        }
      }
    loss_a[h] = (off * sum_c2 + opt.kappa * sum_v2) / static_cast<double>(M);
    // ΔR = λ [off · C R + 2κ diag(v) R].
    std::vector<double> delta(M * M, 0.0);
    double delta_sq = 0, r_sq = 0;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < M; ++j) {
        double cr = 0;
        for (int64_t k = 0; k < M; ++k)
          if (k != i) cr += x[h][i][k] * r[h][k][j];
        const double d = opt.lambda * (off * cr + 2 * opt.kappa * (x[h][i][i] - 1) * r[h][i][j]);
        delta[i * M + j] = d;
        delta_sq += d * d;
        r_sq += r[h][i][j] * r[h][i][j];
      }
    double s = 1;
    const double delta_norm = std::sqrt(delta_sq);
    if (opt.max_rel_step > 0 && delta_norm > 0) s = std::min(1.0, opt.max_rel_step * std::sqrt(r_sq) / delta_norm);
    scale_a[h] = s;
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < M; ++j) o[h][i][j] = r[h][i][j] - s * delta[i * M + j];
  }
  return {out.to(R.scalar_type()), loss, scale};
}

at::Tensor mean_abs_offdiag_correlation(const at::Tensor& X) {
  check_square_stack(X, "X");
  const int64_t M = X.size(1);
  at::Tensor x = X.to(at::kDouble);
  at::Tensor d = x.diagonal(0, 1, 2).clamp_min(0).sqrt();  // [H, M]
  at::Tensor denom = d.unsqueeze(2) * d.unsqueeze(1);
  at::Tensor corr = at::where(denom > 0, x / denom.clamp_min(1e-300), at::zeros_like(x)).abs();
  at::Tensor off = corr.sum({1, 2}) - corr.diagonal(0, 1, 2).sum(1);
  return M > 1 ? off / static_cast<double>(M * (M - 1)) : at::zeros({X.size(0)}, at::kDouble);
}

}  // namespace statetune::kernels
