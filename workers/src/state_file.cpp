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
  const int64_t n = config.head_size;
  const int64_t h = config.n_head > 0 ? config.n_head : (n > 0 ? config.n_embd / n : 0);
  const std::vector<int64_t> expected = {h, n, n};
  const TensorMap tensors = load_checkpoint(path);

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
