// The kernel read-out's definition: input checks and the plain-loop reference (float64
// accumulation, one token and head at a time, written to read like the formulas in
// kernel_readout.h — the oracle the fast path and the autograd op are tested against).
#include <cmath>
#include <string>
#include <vector>

#include "statetune/common/error.h"
#include "statetune/kernels/kernel_readout.h"
#include "statetune/kernels/shape_str.h"

namespace statetune::kernels {
namespace {

std::string shape_of(const at::Tensor& t) { return t.defined() ? statetune::shape_str(t.sizes()) : "undefined"; }

std::string dims_str(std::initializer_list<int64_t> dims) {
  return statetune::shape_str(c10::IntArrayRef(dims.begin(), dims.size()));
}

// One named argument against its expected shape, q's dtype and q's device.
void check_arg(const char* name, const char* symbolic, const at::Tensor& t, std::initializer_list<int64_t> want,
               const at::Tensor& q) {
  ST_CHECK(t.defined() && t.sizes() == c10::IntArrayRef(want.begin(), want.size()),
           "kernel_readout: {} must be {} = {}, got {}", name, symbolic, dims_str(want), shape_of(t));
  ST_CHECK(t.scalar_type() == q.scalar_type(), "kernel_readout: {} has dtype {}, expected q's dtype {}", name,
           c10::toString(t.scalar_type()), c10::toString(q.scalar_type()));
  ST_CHECK(t.device() == q.device(), "kernel_readout: {} is on {}, q on {}", name, t.device().str(),
           q.device().str());
}

// Contiguous float64 CPU copy (the reference accumulates in double whatever the input dtype).
at::Tensor f64(const at::Tensor& t) { return t.to(at::kDouble).contiguous(); }

// Per-token, per-head quantities of the forward: n, u, e, φ, z (all double).
struct Features {
  double n = 0;
  bool has_dir = false;
  std::vector<double> u, e, phi, z;
};

Features features(const double* q, const double* C, double gamma, const double* R, int64_t N, int64_t M) {
  Features f;
  f.u.assign(N, 0.0);
  f.e.assign(M, 0.0);
  f.phi.assign(M, 0.0);
  f.z.assign(M, 0.0);
  double nn = 0;
  for (int64_t j = 0; j < N; ++j) nn += q[j] * q[j];
  f.n = std::sqrt(nn);
  f.has_dir = f.n > kKernelReadoutEps;
  if (!f.has_dir) return f;  // φ = 0, z = 0 (see the q → 0 convention in the header)
  for (int64_t j = 0; j < N; ++j) f.u[j] = q[j] / f.n;
  for (int64_t m = 0; m < M; ++m) {
    double d2 = 0;  // ‖u − c_m‖², the general form: exact for non-unit c too
    for (int64_t j = 0; j < N; ++j) {
      const double d = f.u[j] - C[m * N + j];
      d2 += d * d;
    }
    f.e[m] = std::exp(-gamma * d2);
    f.phi[m] = f.n * f.e[m];
  }
  for (int64_t i = 0; i < M; ++i) {
    double acc = 0;
    for (int64_t m = 0; m < M; ++m) acc += R[i * M + m] * f.phi[m];
    f.z[i] = acc;
  }
  return f;
}

}  // namespace

void kernel_readout_check_inputs(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                 const at::Tensor& gamma, const at::Tensor& R, const at::Tensor& S_hat,
                                 const at::Tensor& Q, const at::Tensor& d_o) {
  ST_CHECK(q.defined() && q.dim() == 4, "kernel_readout: q must be [B, T, H, N], got {}", shape_of(q));
  ST_CHECK(q.scalar_type() == at::kFloat || q.scalar_type() == at::kDouble,
           "kernel_readout: inputs must be float32 or float64, got {}", c10::toString(q.scalar_type()));
  const int64_t H = q.size(2), N = q.size(3);
  ST_CHECK(C.defined() && C.dim() == 3 && C.size(0) == H && C.size(2) == N,
           "kernel_readout: C (support vectors) must be [H, M, N] = [{}, M, {}], got {}", H, N, shape_of(C));
  const int64_t M = C.size(1);
  ST_CHECK(M > 0, "kernel_readout: C has M = 0 support vectors");
  check_arg("C (support vectors)", "[H, M, N]", C, {H, M, N}, q);
  if (S0.defined()) check_arg("S0", "[H, N, N]", S0, {H, N, N}, q);
  check_arg("gamma", "[H]", gamma, {H}, q);
  check_arg("R", "[H, M, M]", R, {H, M, M}, q);
  check_arg("S_hat", "[H, M, M]", S_hat, {H, M, M}, q);
  check_arg("Q", "[H, N, M]", Q, {H, N, M}, q);
  if (d_o.defined()) check_arg("d_o", "q's shape [B, T, H, N]", d_o, {q.size(0), q.size(1), H, N}, q);
}

KernelReadoutOutput kernel_readout_forward_ref(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q) {
  kernel_readout_check_inputs(q, S0, C, gamma, R, S_hat, Q);
  ST_CHECK(q.is_cpu(), "kernel_readout_forward_ref: CPU tensors only, q is on {}", q.device().str());
  const int64_t B = q.size(0), T = q.size(1), H = q.size(2), N = q.size(3), M = C.size(1);
  at::Tensor q64 = f64(q), C64 = f64(C), g64 = f64(gamma), R64 = f64(R), Sh64 = f64(S_hat), Q64 = f64(Q);
  at::Tensor S064 = S0.defined() ? f64(S0) : at::Tensor();
  at::Tensor o = at::zeros({B, T, H, N}, q64.options());
  at::Tensor z = at::zeros({B, T, H, M}, q64.options());
  const double *qp = q64.data_ptr<double>(), *Cp = C64.data_ptr<double>(), *gp = g64.data_ptr<double>(),
               *Rp = R64.data_ptr<double>(), *Shp = Sh64.data_ptr<double>(), *Qp = Q64.data_ptr<double>();
  const double* S0p = S0.defined() ? S064.data_ptr<double>() : nullptr;
  double *op = o.data_ptr<double>(), *zp = z.data_ptr<double>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t tok = (b * T + t) * H + h;
        const double* qt = qp + tok * N;
        Features f = features(qt, Cp + h * M * N, gp[h], Rp + h * M * M, N, M);
        for (int64_t i = 0; i < M; ++i) zp[tok * M + i] = f.z[i];
        std::vector<double> sz(M, 0.0);  // Ŝ z
        for (int64_t a = 0; a < M; ++a)
          for (int64_t m = 0; m < M; ++m) sz[a] += Shp[(h * M + a) * M + m] * f.z[m];
        for (int64_t i = 0; i < N; ++i) {
          double acc = 0;
          if (S0p)
            for (int64_t j = 0; j < N; ++j) acc += S0p[(h * N + i) * N + j] * qt[j];
          for (int64_t a = 0; a < M; ++a) acc += Qp[(h * N + i) * M + a] * sz[a];
          op[tok * N + i] = acc;
        }
      }
  return {o.to(q.scalar_type()), z.to(q.scalar_type())};
}

KernelReadoutGrads kernel_readout_backward_ref(const at::Tensor& q, const at::Tensor& S0, const at::Tensor& C,
                                               const at::Tensor& gamma, const at::Tensor& R,
                                               const at::Tensor& S_hat, const at::Tensor& Q,
                                               const at::Tensor& d_o) {
  ST_CHECK(d_o.defined(), "kernel_readout_backward_ref: d_o must be defined");
  kernel_readout_check_inputs(q, S0, C, gamma, R, S_hat, Q, d_o);
  ST_CHECK(q.is_cpu(), "kernel_readout_backward_ref: CPU tensors only, q is on {}", q.device().str());
  const int64_t B = q.size(0), T = q.size(1), H = q.size(2), N = q.size(3), M = C.size(1);
  at::Tensor q64 = f64(q), C64 = f64(C), g64 = f64(gamma), R64 = f64(R), Sh64 = f64(S_hat), Q64 = f64(Q),
             do64 = f64(d_o);
  at::Tensor S064 = S0.defined() ? f64(S0) : at::Tensor();
  at::Tensor dq = at::zeros({B, T, H, N}, q64.options());
  at::Tensor dS0 = at::zeros({H, N, N}, q64.options());
  at::Tensor dSh = at::zeros({H, M, M}, q64.options());
  const double *qp = q64.data_ptr<double>(), *Cp = C64.data_ptr<double>(), *gp = g64.data_ptr<double>(),
               *Rp = R64.data_ptr<double>(), *Shp = Sh64.data_ptr<double>(), *Qp = Q64.data_ptr<double>(),
               *dop = do64.data_ptr<double>();
  const double* S0p = S0.defined() ? S064.data_ptr<double>() : nullptr;
  double *dqp = dq.data_ptr<double>(), *dS0p = dS0.data_ptr<double>(), *dShp = dSh.data_ptr<double>();
  std::vector<double> qtdo(M), gz(M), gphi(M), P(N * N);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const int64_t tok = (b * T + t) * H + h;
        const double *qt = qp + tok * N, *dot = dop + tok * N;
        const double* Ch = Cp + h * M * N;
        const double gam = gp[h];
        Features f = features(qt, Ch, gam, Rp + h * M * M, N, M);
        double* dqt = dqp + tok * N;
        // dS0 += d_o qᵀ;  dq = S0ᵀ d_o
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) {
            dS0p[(h * N + i) * N + j] += dot[i] * qt[j];
            if (S0p) dqt[j] += S0p[(h * N + i) * N + j] * dot[i];
          }
        // Qᵀ d_o, then dŜ += (Qᵀ d_o) zᵀ
        for (int64_t a = 0; a < M; ++a) {
          double acc = 0;
          for (int64_t i = 0; i < N; ++i) acc += Qp[(h * N + i) * M + a] * dot[i];
          qtdo[a] = acc;
        }
        for (int64_t a = 0; a < M; ++a)
          for (int64_t m = 0; m < M; ++m) dShp[(h * M + a) * M + m] += qtdo[a] * f.z[m];
        if (!f.has_dir) continue;  // the q → 0 convention: no feature term in dq
        // gz = Ŝᵀ (Qᵀ d_o), gφ = Rᵀ gz
        for (int64_t m = 0; m < M; ++m) {
          double acc = 0;
          for (int64_t a = 0; a < M; ++a) acc += Shp[(h * M + a) * M + m] * qtdo[a];
          gz[m] = acc;
        }
        for (int64_t m = 0; m < M; ++m) {
          double acc = 0;
          for (int64_t i = 0; i < M; ++i) acc += Rp[(h * M + i) * M + m] * gz[i];
          gphi[m] = acc;
        }
        // ∂φ_m/∂q = e_m u − 2γ e_m (I − u uᵀ)(u − c_m): the unsimplified chain rule through
        // n = ‖q‖ (∂n/∂q = u) and u = q/n (∂u/∂q = (I − u uᵀ)/n).
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) P[i * N + j] = (i == j ? 1.0 : 0.0) - f.u[i] * f.u[j];
        for (int64_t m = 0; m < M; ++m) {
          const double* c = Ch + m * N;
          for (int64_t i = 0; i < N; ++i) {
            double proj = 0;  // [(I − u uᵀ)(u − c)]_i
            for (int64_t j = 0; j < N; ++j) proj += P[i * N + j] * (f.u[j] - c[j]);
            dqt[i] += gphi[m] * f.e[m] * (f.u[i] - 2.0 * gam * proj);
          }
        }
      }
  const auto dt = q.scalar_type();
  return {dq.to(dt), S0.defined() ? dS0.to(dt) : at::Tensor(), dSh.to(dt)};
}

}  // namespace statetune::kernels
