// Tuned WKV states in RWKV-PEFT's format: {"blocks.{i}.att.time_state": [H, N, N]}, row = value
// index (no transpose: that is already the RWKV-7 RNN layout, RWKV7.md 5.4). Other keys in the
// file (e.g. kernel read-outs stored beside the states) are ignored.
#include "statetune/workers/state_file.h"

#include <cctype>
#include <optional>

#include "statetune/common/error.h"
#include "statetune/workers/checkpoint.h"

namespace statetune::workers {
namespace {

std::string state_key(size_t layer) { return fmt::format("blocks.{}.att.time_state", layer); }

std::string shape_str(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// The layer of a "blocks.{i}.att.time_state" key, if it is one.
std::optional<int64_t> state_layer(const std::string& key) {
  const std::string prefix = "blocks.", suffix = ".att.time_state";
  if (key.size() <= prefix.size() + suffix.size() || key.compare(0, prefix.size(), prefix) != 0 ||
      key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  if (digits.size() > 9) return std::nullopt;
  for (char ch : digits)
    if (!std::isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
  return std::stoll(digits);
}

}  // namespace

std::vector<at::Tensor> load_time_states(const std::string& path, const ModelConfig& config) {
  return time_states_from_map(load_checkpoint(path), path, config);
}

std::vector<at::Tensor> time_states_from_map(const TensorMap& tensors, const std::string& path,
                                             const ModelConfig& config) {
  const int64_t n = config.head_size;
  const int64_t h = config.n_head > 0 ? config.n_head : (n > 0 ? config.n_embd / n : 0);
  const std::vector<int64_t> expected = {h, n, n};

  int64_t in_file = 0;
  for (const auto& [key, t] : tensors) {
    auto layer = state_layer(key);
    if (!layer) continue;
    ++in_file;
    ST_CHECK(*layer < config.n_layer, "{}: key '{}' is beyond the model's {} layers (a state for another model?)", path,
             key, config.n_layer);
  }
  std::vector<at::Tensor> states;
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const std::string key = state_key(static_cast<size_t>(i));
    auto it = tensors.find(key);
    ST_CHECK(it != tensors.end(), "{}: missing key '{}' (expected shape {}; the file has {} time_state keys, the model {} layers)",
             path, key, shape_str(expected), in_file, config.n_layer);
    ST_CHECK(it->second.sizes() == at::IntArrayRef(expected), "{}: key '{}' has shape {}, expected {} [H, N, N]", path,
             key, shape_str(it->second.sizes()), shape_str(expected));
    states.push_back(it->second.to(at::kFloat).contiguous());
  }
  return states;
}

void save_time_states(const std::string& path, const std::vector<at::Tensor>& wkv_states) {
  ST_CHECK(!wkv_states.empty(), "{}: no WKV states to save", path);
  TensorMap tensors;
  for (size_t i = 0; i < wkv_states.size(); ++i) {
    const at::Tensor& s = wkv_states[i];
    ST_CHECK(s.defined() && wkv_states[0].defined(), "{}: WKV state of layer {} is an undefined tensor", path,
             s.defined() ? 0 : i);
    ST_CHECK(s.dim() == 3 && s.size(1) == s.size(2) && s.sizes() == wkv_states[0].sizes(),
             "{}: WKV state of layer {} has shape {}, expected [H, N, N] like layer 0's {}", path, i,
             shape_str(s.sizes()), shape_str(wkv_states[0].sizes()));
    tensors.emplace(state_key(i), s.detach().to(at::kCPU, at::kFloat).contiguous());
  }
  save_checkpoint(path, tensors);
}

}  // namespace statetune::workers

namespace statetune::workers {
namespace {

std::string layer_key(int64_t layer, const char* suffix) { return fmt::format("blocks.{}.{}", layer, suffix); }

constexpr const char* kKernelSuffixes[] = {"att.kernel_state", "att.kernel_support", "att.kernel_gamma",
                                           "att.kernel_q", "att.kernel_r"};

}  // namespace

ModelState load_state_file(const std::string& path, const ModelConfig& config, const at::TensorOptions& options) {
  return state_from_tensor_map(load_checkpoint(path), path, config, options);
}

void save_state_file(const std::string& path, const ModelState& state, const ModelConfig& config) {
  save_checkpoint(path, state_tensor_map(state, config, path, /*keep_dtype=*/false));
}

ModelState state_from_tensor_map(const TensorMap& tensors, const std::string& path, const ModelConfig& config,
                                 const at::TensorOptions& options) {
  std::vector<at::Tensor> wkv = time_states_from_map(tensors, path, config);
  const int64_t C = config.n_embd, H = config.n_head, N = config.head_size;
  auto find = [&](int64_t layer, const char* suffix) -> const at::Tensor* {
    auto it = tensors.find(layer_key(layer, suffix));
    return it == tensors.end() ? nullptr : &it->second;
  };
  auto shaped = [&](const at::Tensor& t, int64_t layer, const char* suffix, std::vector<int64_t> shape) {
    ST_CHECK(t.is_floating_point(), "{}: key '{}' holds {} values, expected floating point", path,
             layer_key(layer, suffix), c10::toString(t.scalar_type()));
    ST_CHECK(t.sizes() == at::IntArrayRef(shape), "{}: key '{}' has shape {}, expected {}", path,
             layer_key(layer, suffix), shape_str(t.sizes()), shape_str(shape));
    return t.to(options).contiguous();
  };
  const bool has_shift = find(0, "att.shift_state") != nullptr;
  const bool has_kernel = find(0, "att.kernel_state") != nullptr;
  int64_t M = 0;
  if (has_kernel) {
    const at::Tensor& s_hat = *find(0, "att.kernel_state");
    ST_CHECK(s_hat.dim() == 3 && s_hat.size(1) == s_hat.size(2), "{}: key '{}' has shape {}, expected [H, M, M]",
             path, layer_key(0, "att.kernel_state"), shape_str(s_hat.sizes()));
    M = s_hat.size(1);
  }
  ModelState state(config.n_layer);
  for (int64_t l = 0; l < config.n_layer; ++l) {
    // From the map, not via load_time_states' float32 copy: a float64 checkpoint stays exact.
    state[l].wkv = tensors.at(state_key(static_cast<size_t>(l))).to(options).contiguous();
    if (has_shift) {
      for (const char* suffix : {"att.shift_state", "ffn.shift_state"}) {
        ST_CHECK(find(l, suffix) != nullptr, "{}: missing key '{}' (layer 0 has token-shift states)", path,
                 layer_key(l, suffix));
      }
      state[l].att_shift = shaped(*find(l, "att.shift_state"), l, "att.shift_state", {C});
      state[l].ffn_shift = shaped(*find(l, "ffn.shift_state"), l, "ffn.shift_state", {C});
    }
    if (has_kernel) {
      for (const char* suffix : kKernelSuffixes) {
        ST_CHECK(find(l, suffix) != nullptr, "{}: missing key '{}' (layer 0 has a kernel read-out)", path,
                 layer_key(l, suffix));
      }
      KernelReadout ro;
      ro.S_hat = shaped(*find(l, "att.kernel_state"), l, "att.kernel_state", {H, M, M});
      ro.support = shaped(*find(l, "att.kernel_support"), l, "att.kernel_support", {H, M, N});
      ro.gamma = shaped(*find(l, "att.kernel_gamma"), l, "att.kernel_gamma", {H});
      ro.Q = shaped(*find(l, "att.kernel_q"), l, "att.kernel_q", {H, N, M});
      ro.R = shaped(*find(l, "att.kernel_r"), l, "att.kernel_r", {H, M, M});
      state[l].readout = ro;
    }
  }
  return state;
}

TensorMap state_tensor_map(const ModelState& state, const ModelConfig& config, const std::string& path,
                           bool keep_dtype) {
  ST_CHECK(static_cast<int64_t>(state.size()) == config.n_layer, "{}: the state has {} layers, the model {}", path,
           state.size(), config.n_layer);
  TensorMap tensors;
  auto put = [&](int64_t layer, const char* suffix, const at::Tensor& t) {
    tensors.emplace(layer_key(layer, suffix),
                    t.detach().to(at::kCPU, keep_dtype ? t.scalar_type() : at::kFloat).contiguous().clone());
  };
  for (int64_t l = 0; l < config.n_layer; ++l) {
    const LayerState& s = state[l];
    put(l, "att.time_state",
        s.wkv.defined() ? s.wkv : at::zeros({config.n_head, config.head_size, config.head_size}));
    ST_CHECK(s.att_shift.defined() == s.ffn_shift.defined(), "{}: layer {} has only one of its two shift states",
             path, l);
    if (s.att_shift.defined()) {
      put(l, "att.shift_state", s.att_shift);
      put(l, "ffn.shift_state", s.ffn_shift);
    }
    if (s.readout) {
      put(l, "att.kernel_state", s.readout->S_hat);
      put(l, "att.kernel_support", s.readout->support);
      put(l, "att.kernel_gamma", s.readout->gamma);
      put(l, "att.kernel_q", s.readout->Q);
      put(l, "att.kernel_r", s.readout->R);
    }
  }
  return tensors;
}

}  // namespace statetune::workers
