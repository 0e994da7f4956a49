// An RWKV-7 model's dimensions, read from its official-named weights, and the full key/shape
// table of RWKV7.md 1.6 that every checkpoint is checked against.
#include "statetune/workers/model_config.h"

#include <cctype>

#include "statetune/common/error.h"

namespace statetune::workers {
namespace {

std::string shape_str(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// The config with n_head derived; `context` prefixes the messages (the file, when known).
ModelConfig checked(ModelConfig c, const std::string& context) {
  const std::pair<const char*, int64_t> dims[] = {
      {"n_layer", c.n_layer}, {"n_embd", c.n_embd}, {"head_size", c.head_size}, {"vocab_size", c.vocab_size},
      {"rank_w", c.rank_w},   {"rank_a", c.rank_a}, {"rank_v", c.rank_v},       {"rank_g", c.rank_g}};
  for (const auto& [name, value] : dims) ST_CHECK(value > 0, "{}: {} = {}, expected > 0", context, name, value);
  ST_CHECK(c.n_embd % c.head_size == 0, "{}: n_embd {} is not a multiple of head_size {}", context, c.n_embd,
           c.head_size);
  const int64_t h = c.n_embd / c.head_size;
  ST_CHECK(c.n_head == 0 || c.n_head == h, "{}: n_head {} != n_embd / head_size = {}", context, c.n_head, h);
  c.n_head = h;
  return c;
}

// The sizes of a key the dimensions are read from, checking that it exists with `ndim` dims.
at::IntArrayRef dims_of(const TensorMap& w, const std::string& key, int64_t ndim, const char* expected,
                        const std::string& source) {
  auto it = w.find(key);
  ST_CHECK(it != w.end(), "{}: missing key '{}' (expected shape {})", source, key, expected);
  ST_CHECK(it->second.dim() == ndim, "{}: key '{}' has shape {}, expected {}", source, key,
           shape_str(it->second.sizes()), expected);
  return it->second.sizes();
}

// Layers are numbered 0..L-1 with nothing beyond: a key of layer L or more means a layer is
// missing in between (L is counted like fla's converter: the run of blocks.{i}.ffn.key.weight).
void check_layer_numbers(const TensorMap& w, int64_t n_layer, const std::string& source) {
  const std::string prefix = "blocks.";
  for (const auto& [key, t] : w) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    size_t end = prefix.size();
    while (end < key.size() && std::isdigit(static_cast<unsigned char>(key[end]))) ++end;
    if (end == prefix.size() || end - prefix.size() > 9) continue;
    const int64_t layer = std::stoll(key.substr(prefix.size(), end - prefix.size()));
    ST_CHECK(layer < n_layer, "{}: key '{}' is in layer {}, but 'blocks.{}.ffn.key.weight' is missing", source, key,
             layer, n_layer);
  }
}

bool is_model_dtype(at::ScalarType t) { return t == at::kFloat || t == at::kHalf || t == at::kBFloat16; }

}  // namespace

std::map<std::string, std::vector<int64_t>> expected_shapes(const ModelConfig& config) {
  const ModelConfig c = checked(config, "invalid model config");
  const int64_t C = c.n_embd, V = c.vocab_size, H = c.n_head, N = c.head_size;
  std::map<std::string, std::vector<int64_t>> s;
  s["emb.weight"] = {V, C};
  s["blocks.0.ln0.weight"] = {C};
  s["blocks.0.ln0.bias"] = {C};
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string b = fmt::format("blocks.{}.", i);
    for (const char* ln : {"ln1", "ln2"}) {
      s[b + ln + ".weight"] = {C};
      s[b + ln + ".bias"] = {C};
    }
    for (const char* x : {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "k_k", "k_a"}) s[b + "att." + x] = {1, 1, C};
    // w, a, v LoRAs with a bias (v is present in block 0 too, though unused there).
    for (const auto& [lora, rank] : {std::pair{"w", c.rank_w}, std::pair{"a", c.rank_a}, std::pair{"v", c.rank_v}}) {
      s[b + "att." + lora + "0"] = {1, 1, C};
      s[b + "att." + lora + "1"] = {C, rank};
      s[b + "att." + lora + "2"] = {rank, C};
    }
    s[b + "att.g1"] = {C, c.rank_g};
    s[b + "att.g2"] = {c.rank_g, C};
    s[b + "att.r_k"] = {H, N};
    for (const char* proj : {"receptance", "key", "value", "output"}) s[b + "att." + proj + ".weight"] = {C, C};
    s[b + "att.ln_x.weight"] = {C};
    s[b + "att.ln_x.bias"] = {C};
    s[b + "ffn.x_k"] = {1, 1, C};
    s[b + "ffn.key.weight"] = {4 * C, C};
    s[b + "ffn.value.weight"] = {C, 4 * C};
  }
  s["ln_out.weight"] = {C};
  s["ln_out.bias"] = {C};
  s["head.weight"] = {V, C};
  return s;
}

ModelConfig infer_model_config(const TensorMap& w, const std::string& source) {
  ModelConfig c;
  while (w.count(fmt::format("blocks.{}.ffn.key.weight", c.n_layer))) ++c.n_layer;
  ST_CHECK(c.n_layer > 0, "{}: missing key 'blocks.0.ffn.key.weight': not an RWKV-7 checkpoint with official names",
           source);
  check_layer_numbers(w, c.n_layer, source);

  auto emb = dims_of(w, "emb.weight", 2, "[V, C]", source);
  c.vocab_size = emb[0];
  c.n_embd = emb[1];
  auto r_k = dims_of(w, "blocks.0.att.r_k", 2, "[H, N]", source);
  c.n_head = r_k[0];
  c.head_size = r_k[1];
  ST_CHECK(c.n_head * c.head_size == c.n_embd,
           "{}: key 'blocks.0.att.r_k' has shape [{}, {}], expected H * N = C = {} (from 'emb.weight')", source,
           c.n_head, c.head_size, c.n_embd);
  c.rank_w = dims_of(w, "blocks.0.att.w1", 2, "[C, Dw]", source)[1];
  c.rank_a = dims_of(w, "blocks.0.att.a1", 2, "[C, Da]", source)[1];
  // Block 0's v LoRA is unused by the model (and zero-filled from fla files): read layer 1's.
  c.rank_v = dims_of(w, c.n_layer > 1 ? "blocks.1.att.v1" : "blocks.0.att.v1", 2, "[C, Dv]", source)[1];
  c.rank_g = dims_of(w, "blocks.0.att.g1", 2, "[C, Dg]", source)[1];
  c = checked(c, source);

  for (const auto& [key, shape] : expected_shapes(c)) {
    auto it = w.find(key);
    ST_CHECK(it != w.end(), "{}: missing key '{}' (expected shape {})", source, key, shape_str(shape));
    ST_CHECK(it->second.sizes() == at::IntArrayRef(shape), "{}: key '{}' has shape {}, expected {}", source, key,
             shape_str(it->second.sizes()), shape_str(shape));
    ST_CHECK(is_model_dtype(it->second.scalar_type()), "{}: key '{}' has dtype {}, expected float32, float16 or bfloat16",
             source, key, c10::toString(it->second.scalar_type()));
  }
  return c;
}

}  // namespace statetune::workers
