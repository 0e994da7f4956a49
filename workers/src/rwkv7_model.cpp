// RWKV-7 x070 forward pass (RWKV7.md §1.2-1.5). The WKV recurrence is kernels::wkv7, an
// autograd op, so gradients reach the initial states through every layer above.
#include "statetune/workers/rwkv7_model.h"

#include <cmath>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/kernels/shape_str.h"
#include "statetune/kernels/kernel_readout.h"
#include "statetune/kernels/wkv7.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/host_device.h"

namespace statetune::workers {
namespace {

constexpr double kLayerNormEps = 1e-5;
// GroupNorm eps of att.ln_x: 1e-5 * head_size_divisor² with the official divisor 8, i.e.
// 64e-5 for every released model (it does not change with the head size).
constexpr double kGroupNormEps = 64e-5;
// Decay d = exp(-e^{-0.5}·σ(w_raw)) ∈ (0.545, 1): the official soft clamp, written as in
// rwkv7_clampw.cu / the RNN demo.
const double kDecayScale = std::exp(-0.5);

// x [B, T, C] -> the previous token's x, with `shift` [B, C] before the first token.
at::Tensor token_shift(const at::Tensor& x, const at::Tensor& shift) {
  return at::cat({shift.unsqueeze(1), x.narrow(1, 0, x.size(1) - 1)}, 1);
}

// x [B, T, C]: the row at position index[b] of each sequence -> [B, C].
at::Tensor gather_positions(const at::Tensor& x, const at::Tensor& index) {
  const int64_t B = x.size(0), C = x.size(2);
  return x.gather(1, index.view({B, 1, 1}).expand({B, 1, C})).squeeze(1);
}

// A state tensor must be in the state dtype on the model's device.
void check_state_tensor(const at::Tensor& t, const at::TensorOptions& opts, const char* what, int64_t layer) {
  ST_CHECK(t.scalar_type() == opts.dtype().toScalarType(), "initial state layer {}: {} has dtype {}, expected {}",
           layer, what, c10::toString(t.scalar_type()), c10::toString(opts.dtype().toScalarType()));
  ST_CHECK(t.device() == opts.device(), "initial state layer {}: {} is on {}, the model on {}", layer, what,
           t.device().str(), opts.device().str());
}

// A state part given as shared [shape...] or per-sequence [B, shape...] -> [B, shape...].
at::Tensor batched(const at::Tensor& t, int64_t batch, at::IntArrayRef shape, const at::TensorOptions& opts,
                   const char* what, int64_t layer) {
  if (!t.defined()) {
    std::vector<int64_t> full{batch};
    full.insert(full.end(), shape.begin(), shape.end());
    return at::zeros(full, opts);
  }
  check_state_tensor(t, opts, what, layer);
  if (t.dim() == static_cast<int64_t>(shape.size()) && t.sizes() == shape) {
    std::vector<int64_t> full{batch};
    full.insert(full.end(), shape.begin(), shape.end());
    return t.unsqueeze(0).expand(full);
  }
  ST_CHECK(t.dim() == static_cast<int64_t>(shape.size()) + 1 && t.size(0) == batch && t.sizes().slice(1) == shape,
           "initial state layer {}: {} has shape {}, expected {} or [{}, ...]", layer, what, shape_str(t.sizes()), shape_str(shape), batch);
  return t;
}

}  // namespace

void Rwkv7Model::check_readout(const KernelReadout& ro, int64_t layer) const {
  const int64_t H = config_.n_head, N = config_.head_size;
  ST_CHECK(ro.S_hat.defined() && ro.S_hat.dim() == 3, "kernel read-out of layer {}: S_hat must be [H, M, M]", layer);
  const int64_t M = ro.S_hat.size(2);
  auto check = [&](const at::Tensor& t, std::vector<int64_t> shape, const char* name) {
    ST_CHECK(t.defined() && t.sizes() == at::IntArrayRef(shape) && t.scalar_type() == state_dtype(),
             "kernel read-out of layer {}: {} is {} {}, expected {} {}", layer, name,
             t.defined() ? shape_str(t.sizes()) : "missing", t.defined() ? c10::toString(t.scalar_type()) : "",
             shape_str(shape), c10::toString(state_dtype()));
    ST_CHECK(t.device() == device_, "kernel read-out of layer {}: {} is on {}, the model on {}", layer, name,
             t.device().str(), device_.str());
  };
  check(ro.S_hat, {H, M, M}, "S_hat");
  check(ro.support, {H, M, N}, "support");
  check(ro.gamma, {H}, "gamma");
  check(ro.R, {H, M, M}, "R");
  check(ro.Q, {H, N, M}, "Q");
}

Rwkv7Model::Rwkv7Model(const TensorMap& weights, const std::string& source, at::ScalarType dtype, at::Device device)
    : config_(infer_model_config(weights, source)), dtype_(dtype), device_(device) {
  ST_CHECK(dtype == at::kFloat || dtype == at::kDouble || dtype == at::kBFloat16,
           "the model's weights are float32, float64 or bfloat16, not {}", c10::toString(dtype));
  for (const auto& [key, tensor] : weights) {
    if (key.find("time_state") != std::string::npos) continue;
    weights_[key] = tensor.detach().to(device, dtype).contiguous().set_requires_grad(false);
  }
}

Rwkv7Model Rwkv7Model::load(const std::string& path, at::ScalarType dtype, at::Device device) {
  return Rwkv7Model(load_checkpoint(path), path, dtype, device);
}

int64_t Rwkv7Model::weight_bytes() const {
  int64_t bytes = 0;
  for (const auto& [key, t] : weights_) bytes += t.numel() * static_cast<int64_t>(t.element_size());
  return bytes;
}

const at::Tensor& Rwkv7Model::w(const std::string& key) const {
  auto it = weights_.find(key);
  if (it == weights_.end()) fail("model has no weight '{}'", key);
  return it->second;
}

ModelState Rwkv7Model::zero_state(int64_t batch) const {
  const auto opts = state_options();
  const int64_t C = config_.n_embd, H = config_.n_head, N = config_.head_size;
  ModelState state(config_.n_layer);
  for (auto& layer : state) {
    layer.att_shift = at::zeros({batch, C}, opts);
    layer.wkv = at::zeros({batch, H, N, N}, opts);
    layer.ffn_shift = at::zeros({batch, C}, opts);
  }
  return state;
}

ModelState Rwkv7Model::prompt_state(const std::vector<int64_t>& tokens) const {
  ST_CHECK(!tokens.empty(), "prompt_state: no tokens");
  at::NoGradGuard no_grad;
  ModelState after;
  forward(at::tensor(tokens, at::kLong).unsqueeze(0), at::Tensor(), nullptr, &after);
  ModelState state(after.size());
  for (size_t l = 0; l < after.size(); ++l) {
    state[l].att_shift = after[l].att_shift[0];
    state[l].wkv = after[l].wkv[0];
    state[l].ffn_shift = after[l].ffn_shift[0];
  }
  return state;
}

// What one layer's time mix reads from the initial state and gives back.
struct Rwkv7Model::TimeMixIO {
  at::Tensor shift;                        // [B, C]
  at::Tensor s0;                           // WKV S0: [H, N, N], [B, H, N, N] or undefined (0)
  at::Tensor transport0;                   // P_0: same shapes, undefined = identity
  const KernelReadout* readout = nullptr;  // the kernel read-out, if the state has one
  bool want_query = false;                 // compute q_t even without a read-out
  at::Tensor wkv_T, transport_T, query, z;  // outputs (transport_T, query: when q_t was computed)
};

at::Tensor Rwkv7Model::time_mix(int64_t layer, const at::Tensor& x, const at::Tensor& mask, at::Tensor& v_first,
                                TimeMixIO& io) const {
  const at::Tensor shift = io.shift.to(x.scalar_type());
  const std::string p = "blocks." + std::to_string(layer) + ".att.";
  const int64_t B = x.size(0), T = x.size(1), C = config_.n_embd, H = config_.n_head, N = config_.head_size;
  const at::Tensor xx = token_shift(x, shift) - x;
  const at::Tensor xr = x + xx * w(p + "x_r"), xw = x + xx * w(p + "x_w"), xk = x + xx * w(p + "x_k");
  const at::Tensor xv = x + xx * w(p + "x_v"), xa = x + xx * w(p + "x_a"), xg = x + xx * w(p + "x_g");

  const at::Tensor r = at::linear(xr, w(p + "receptance.weight"));
  const at::Tensor w_raw = w(p + "w0") + at::tanh(xw.matmul(w(p + "w1"))).matmul(w(p + "w2"));
  at::Tensor k = at::linear(xk, w(p + "key.weight"));
  at::Tensor v = at::linear(xv, w(p + "value.weight"));
  if (layer == 0) {
    v_first = v;
  } else {
    v = v + (v_first - v) * at::sigmoid(w(p + "v0") + xv.matmul(w(p + "v1")).matmul(w(p + "v2")));
  }
  const at::Tensor a = at::sigmoid(w(p + "a0") + xa.matmul(w(p + "a1")).matmul(w(p + "a2")));
  const at::Tensor g = at::sigmoid(xg.matmul(w(p + "g1"))).matmul(w(p + "g2"));

  // kk = L2-normalised (k ⊙ k_k) per head, as F.normalize (eps 1e-12).
  const at::Tensor kk_raw = (k * w(p + "k_k")).view({B, T, H, N});
  const at::Tensor kk = (kk_raw / kk_raw.norm(2, -1, true).clamp_min(1e-12)).view({B, T, C});
  k = k * (1 + (a - 1) * w(p + "k_a"));
  // The WKV recurrence computes in the state dtype (float32 under bf16 weights), the decay too.
  const at::ScalarType wkv_dtype = state_dtype();
  at::Tensor decay = at::exp(-kDecayScale * at::sigmoid(w_raw.to(wkv_dtype)));

  // Padding: a padded position leaves the state untouched (decay 1, no write, no removal).
  at::Tensor k_wkv = k, alpha = -kk;
  if (mask.defined()) {
    const at::Tensor m = mask.unsqueeze(-1);
    decay = at::where(m, decay, at::ones_like(decay));
    k_wkv = k * m;
    alpha = alpha * m;
  }
  const auto shape4 = std::vector<int64_t>{B, T, H, N};
  auto wkv_input = [&](const at::Tensor& t) { return t.view(shape4).to(wkv_dtype).contiguous(); };
  const at::Tensor r4 = wkv_input(r), d4 = wkv_input(decay);
  const at::Tensor k4 = wkv_input(k_wkv), a4 = wkv_input(alpha);
  const at::Tensor b4 = wkv_input(kk * a);
  kernels::Wkv7Output wkv = kernels::wkv7(r4, d4, k4, wkv_input(v), a4, b4, io.s0);
  io.wkv_T = wkv.sT;
  at::Tensor y = wkv.y;
  if (io.readout != nullptr || io.want_query) {
    // The transported query q_t = P_0 A_1⋯A_t r_t: the same recurrence from s0 = P_0 (identity
    // at the start) with v = 0, so nothing is written and y is exactly q (METHOD.md §2).
    const at::Tensor p0 =
        io.transport0.defined() ? io.transport0 : at::eye(N, state_options()).expand({H, N, N}).contiguous();
    kernels::Wkv7Output transported = kernels::wkv7(r4, d4, k4, at::zeros_like(r4), a4, b4, p0);
    io.transport_T = transported.sT;
    io.query = transported.y;
    if (io.readout != nullptr) {
      const KernelReadout& ro = *io.readout;
      kernels::KernelReadoutOutput out =
          kernels::kernel_readout(transported.y, at::Tensor(), ro.support, ro.gamma, ro.R, ro.S_hat, ro.Q);
      y = y + out.o;
      io.z = out.z;
    }
  }

  at::Tensor o = at::group_norm(y.to(x.scalar_type()).reshape({B * T, C}), H, w(p + "ln_x.weight"), w(p + "ln_x.bias"),
                                kGroupNormEps)
                     .view({B, T, C});
  const at::Tensor bonus = (r * k).view(shape4).mul(w(p + "r_k")).sum(-1, true) * v.view(shape4);
  o = o + bonus.view({B, T, C});
  return at::linear(o * g, w(p + "output.weight"));
}

at::Tensor Rwkv7Model::channel_mix(int64_t layer, const at::Tensor& x, const at::Tensor& shift) const {
  const std::string p = "blocks." + std::to_string(layer) + ".ffn.";
  const at::Tensor xx = token_shift(x, shift.to(x.scalar_type())) - x;
  const at::Tensor kx = x + xx * w(p + "x_k");
  const at::Tensor hidden = at::relu(at::linear(kx, w(p + "key.weight"))).square();
  return at::linear(hidden, w(p + "value.weight"));
}

at::Tensor Rwkv7Model::forward(const at::Tensor& tokens, const at::Tensor& lengths, const ModelState* initial,
                               ModelState* final_state, ForwardTrace* trace) const {
  ST_CHECK(tokens.dim() == 2 && tokens.size(1) >= 1, "forward: tokens must be [B, T] with T >= 1, got {}",
           shape_str(tokens.sizes()));
  const int64_t B = tokens.size(0), T = tokens.size(1);
  const int64_t C = config_.n_embd, H = config_.n_head, N = config_.head_size;
  // Host inputs are checked on the host, then copied; device inputs were checked by the caller.
  at::Tensor ids = tokens.to(at::kLong);
  if (ids.is_cpu() && ids.numel() > 0) {
    const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
    ST_CHECK(lo >= 0 && hi < config_.vocab_size, "token id {} is outside the model's vocabulary [0, {})",
             lo < 0 ? lo : hi, config_.vocab_size);
  }
  ids = to_device(ids, device_);
  at::Tensor mask, last;
  if (lengths.defined()) {
    ST_CHECK(lengths.dim() == 1 && lengths.size(0) == B, "forward: lengths must be [B] = [{}], got {}", B,
             shape_str(lengths.sizes()));
    at::Tensor len = lengths.to(at::kLong);
    if (len.is_cpu()) {
      ST_CHECK(len.min().item<int64_t>() >= 1 && len.max().item<int64_t>() <= T,
               "forward: every length must be in [1, T = {}]", T);
    }
    len = to_device(len, device_);
    mask = at::arange(T, ids.options()).unsqueeze(0) < len.unsqueeze(1);
    last = len - 1;
  } else {
    last = at::full({B}, T - 1, ids.options());
  }
  ST_CHECK(initial == nullptr || static_cast<int64_t>(initial->size()) == config_.n_layer,
           "initial state has {} layers, the model has {}", initial ? initial->size() : 0, config_.n_layer);
  if (final_state != nullptr) final_state->assign(config_.n_layer, LayerState{});
  if (trace != nullptr) {
    trace->queries.assign(config_.n_layer, at::Tensor());
    trace->readout_z.assign(config_.n_layer, at::Tensor());
  }

  const auto opts = state_options();
  at::Tensor x = at::embedding(w("emb.weight"), ids);
  x = at::layer_norm(x, {C}, w("blocks.0.ln0.weight"), w("blocks.0.ln0.bias"), kLayerNormEps);
  at::Tensor v_first;
  for (int64_t l = 0; l < config_.n_layer; ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    const LayerState none;
    const LayerState& init = initial ? (*initial)[l] : none;
    const at::Tensor att_shift = batched(init.att_shift, B, {C}, opts, "att_shift", l);
    const at::Tensor ffn_shift = batched(init.ffn_shift, B, {C}, opts, "ffn_shift", l);
    at::Tensor s0 = init.wkv;
    if (s0.defined()) {
      check_state_tensor(s0, opts, "wkv", l);
      ST_CHECK((s0.dim() == 3 && s0.sizes() == at::IntArrayRef{H, N, N}) ||
                   (s0.dim() == 4 && s0.sizes() == at::IntArrayRef{B, H, N, N}),
               "initial state layer {}: wkv has shape {}, expected [{}, {}, {}] or [{}, {}, {}, {}]", l, shape_str(s0.sizes()),
               H, N, N, B, H, N, N);
    }
    TimeMixIO io;
    io.shift = att_shift;
    io.s0 = s0;
    if (init.readout) {
      check_readout(*init.readout, l);
      io.readout = &*init.readout;
    }
    io.want_query = trace != nullptr && trace->collect_queries;
    if (init.transport.defined() && (io.readout != nullptr || io.want_query)) {
      io.transport0 = init.transport;
      check_state_tensor(io.transport0, opts, "transport", l);
      ST_CHECK(io.transport0.scalar_type() == state_dtype() &&
                   ((io.transport0.dim() == 3 && io.transport0.sizes() == at::IntArrayRef{H, N, N}) ||
                    (io.transport0.dim() == 4 && io.transport0.sizes() == at::IntArrayRef{B, H, N, N})),
               "initial state layer {}: transport has shape {} ({}), expected [{}, {}, {}] or [{}, {}, {}, {}] ({})", l,
               shape_str(io.transport0.sizes()), c10::toString(io.transport0.scalar_type()), H, N, N, B, H, N, N,
               c10::toString(state_dtype()));
    }
    const at::Tensor xa = at::layer_norm(x, {C}, w(p + "ln1.weight"), w(p + "ln1.bias"), kLayerNormEps);
    x = x + time_mix(l, xa, mask, v_first, io);
    const at::Tensor xf = at::layer_norm(x, {C}, w(p + "ln2.weight"), w(p + "ln2.bias"), kLayerNormEps);
    x = x + channel_mix(l, xf, ffn_shift);
    if (final_state != nullptr) {
      LayerState& out = (*final_state)[l];
      out = LayerState{gather_positions(xa, last).to(state_dtype()), io.wkv_T,
                       gather_positions(xf, last).to(state_dtype()), at::Tensor(), init.readout};
      if (init.readout) out.transport = io.transport_T;
    }
    if (trace != nullptr) {
      trace->queries[l] = io.query.defined() ? io.query.detach() : at::Tensor();
      trace->readout_z[l] = io.z.defined() ? io.z.detach() : at::Tensor();
    }
  }
  if (trace != nullptr) trace->mask = mask.defined() ? mask : at::ones({B, T}, ids.options().dtype(at::kBool));
  x = at::layer_norm(x, {C}, w("ln_out.weight"), w("ln_out.bias"), kLayerNormEps);
  return at::linear(x, w("head.weight")).to(state_dtype());
}

at::Tensor Rwkv7Model::step(const at::Tensor& tokens, ModelState& state) const {
  ST_CHECK(tokens.dim() == 1, "step: tokens must be [B], got {}", shape_str(tokens.sizes()));
  ModelState next;
  at::Tensor logits = forward(tokens.unsqueeze(1), at::Tensor(), state.empty() ? nullptr : &state, &next);
  state = std::move(next);
  return logits.select(1, 0);
}

}  // namespace statetune::workers
