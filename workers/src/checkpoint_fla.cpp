// load_checkpoint / save_checkpoint (format by magic bytes or extension), and the renaming
// between the official BlinkDL keys and the HF fla-hub keys, with the transposes and squeezes
// of fla's converter `utils/convert_from_rwkv7.py` (RWKV7.md 1.7).
#include <ATen/ATen.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "statetune/common/error.h"
#include "statetune/workers/checkpoint.h"

namespace statetune::workers {
namespace {

// How a tensor changes from the official layout to fla's.
enum class Xform {
  kSame,
  kTranspose,  // LoRA matrices: official w1 [C, D] is fla's Linear weight [D, C]
  kSqueeze,    // official [1, 1, C] is fla's [C]
  kMix,        // token-shift mixes: [1, 1, C] in both (a squeezed [C] is accepted when reading fla)
};

struct Rule {
  const char* official;  // after "blocks.{i}."
  const char* fla;       // after "model.layers.{i}."
  Xform xform;
};

constexpr Rule kLayerRules[] = {
    {"ln0.weight", "pre_norm.weight", Xform::kSame},
    {"ln0.bias", "pre_norm.bias", Xform::kSame},
    {"ln1.weight", "attn_norm.weight", Xform::kSame},
    {"ln1.bias", "attn_norm.bias", Xform::kSame},
    {"ln2.weight", "ffn_norm.weight", Xform::kSame},
    {"ln2.bias", "ffn_norm.bias", Xform::kSame},
    {"att.x_r", "attn.x_r", Xform::kMix},
    {"att.x_w", "attn.x_w", Xform::kMix},
    {"att.x_k", "attn.x_k", Xform::kMix},
    {"att.x_v", "attn.x_v", Xform::kMix},
    {"att.x_a", "attn.x_a", Xform::kMix},
    {"att.x_g", "attn.x_g", Xform::kMix},
    {"att.w0", "attn.w_lora.lora.2.bias", Xform::kSqueeze},
    {"att.w1", "attn.w_lora.lora.0.weight", Xform::kTranspose},
    {"att.w2", "attn.w_lora.lora.2.weight", Xform::kTranspose},
    {"att.a0", "attn.a_lora.lora.2.bias", Xform::kSqueeze},
    {"att.a1", "attn.a_lora.lora.0.weight", Xform::kTranspose},
    {"att.a2", "attn.a_lora.lora.2.weight", Xform::kTranspose},
    {"att.v0", "attn.v_lora.lora.2.bias", Xform::kSqueeze},
    {"att.v1", "attn.v_lora.lora.0.weight", Xform::kTranspose},
    {"att.v2", "attn.v_lora.lora.2.weight", Xform::kTranspose},
    {"att.g1", "attn.g_lora.lora.0.weight", Xform::kTranspose},
    {"att.g2", "attn.g_lora.lora.2.weight", Xform::kTranspose},
    {"att.k_k", "attn.k_k", Xform::kSqueeze},
    {"att.k_a", "attn.k_a", Xform::kSqueeze},
    {"att.r_k", "attn.r_k", Xform::kSame},
    {"att.receptance.weight", "attn.r_proj.weight", Xform::kSame},
    {"att.key.weight", "attn.k_proj.weight", Xform::kSame},
    {"att.value.weight", "attn.v_proj.weight", Xform::kSame},
    {"att.output.weight", "attn.o_proj.weight", Xform::kSame},
    {"att.ln_x.weight", "attn.g_norm.weight", Xform::kSame},
    {"att.ln_x.bias", "attn.g_norm.bias", Xform::kSame},
    {"ffn.x_k", "ffn.x_k", Xform::kSqueeze},
    {"ffn.key.weight", "ffn.key.weight", Xform::kSame},
    {"ffn.value.weight", "ffn.value.weight", Xform::kSame},
};

constexpr std::pair<const char*, const char*> kGlobalNames[] = {
    {"emb.weight", "model.embeddings.weight"},
    {"ln_out.weight", "model.norm.weight"},
    {"ln_out.bias", "model.norm.bias"},
    {"head.weight", "lm_head.weight"},
};

// fla has no v_lora in layer 0; without a layer 1 to copy the rank from, use fla's default.
constexpr int64_t kDefaultVRank = 32;

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// "<prefix><digits>.<rest>" -> (layer, rest)
std::optional<std::pair<int64_t, std::string>> split_layer_key(const std::string& key, const std::string& prefix) {
  if (!starts_with(key, prefix)) return std::nullopt;
  size_t pos = prefix.size(), end = pos;
  while (end < key.size() && std::isdigit(static_cast<unsigned char>(key[end]))) ++end;
  if (end == pos || end - pos > 9 || end >= key.size() || key[end] != '.') return std::nullopt;
  return std::make_pair(std::stoll(key.substr(pos, end - pos)), key.substr(end + 1));
}

std::string shape_str(const at::Tensor& t) { return fmt::format("[{}]", fmt::join(t.sizes(), ", ")); }

at::Tensor to_fla(const at::Tensor& t, Xform xform, const std::string& key) {
  switch (xform) {
    case Xform::kTranspose:
      ST_CHECK(t.dim() == 2, "key '{}' has shape {}, expected a matrix", key, shape_str(t));
      return t.t().contiguous();
    case Xform::kSqueeze: return t.reshape({-1});
    case Xform::kSame:
    case Xform::kMix: return t;
  }
  return t;
}

at::Tensor to_official(const at::Tensor& t, Xform xform, const std::string& key, const std::string& source) {
  switch (xform) {
    case Xform::kTranspose:
      ST_CHECK(t.dim() == 2, "{}: key '{}' has shape {}, expected a matrix", source, key, shape_str(t));
      return t.t().contiguous();
    case Xform::kSqueeze:
    case Xform::kMix:
      ST_CHECK(t.dim() == 1 || t.dim() == 3, "{}: key '{}' has shape {}, expected [C] or [1, 1, C]", source, key,
               shape_str(t));
      return t.reshape({1, 1, -1});
    case Xform::kSame: return t;
  }
  return t;
}

void insert_unique(TensorMap& out, const std::string& key, at::Tensor t, const std::string& from,
                   const std::string& source) {
  ST_CHECK(out.emplace(key, std::move(t)).second, "{}: key '{}' gives official '{}', which the file already has",
           source, from, key);
}

// Official block 0 carries v0/v1/v2 that the model never uses; fla drops them. Zeros of the
// right shape put them back so the official key list is complete.
void fill_block0_v_lora(TensorMap& out) {
  if (out.count("blocks.0.att.v0") || !out.count("blocks.0.att.x_v")) return;
  const at::Tensor& x_v = out.at("blocks.0.att.x_v");
  const int64_t c = x_v.numel();
  auto v1 = out.find("blocks.1.att.v1");
  const int64_t rank = v1 != out.end() && v1->second.dim() == 2 ? v1->second.size(1) : kDefaultVRank;
  const auto options = v1 != out.end() ? v1->second.options() : x_v.options();
  out.emplace("blocks.0.att.v0", at::zeros({1, 1, c}, options));
  out.emplace("blocks.0.att.v1", at::zeros({c, rank}, options));
  out.emplace("blocks.0.att.v2", at::zeros({rank, c}, options));
}

}  // namespace

bool looks_like_fla_naming(const TensorMap& tensors) {
  for (const auto& [key, t] : tensors)
    if (starts_with(key, "model.layers.") || key == "model.embeddings.weight" || key == "lm_head.weight") return true;
  return false;
}

TensorMap fla_to_official(const TensorMap& fla, const std::string& source) {
  TensorMap out;
  for (const auto& [key, t] : fla) {
    bool done = false;
    for (const auto& [official, fla_name] : kGlobalNames) {
      if (key == fla_name) {
        insert_unique(out, official, t, key, source);
        done = true;
      }
    }
    if (auto layer = split_layer_key(key, "model.layers."); layer && !done) {
      for (const Rule& rule : kLayerRules) {
        if (layer->second == rule.fla) {
          insert_unique(out, fmt::format("blocks.{}.{}", layer->first, rule.official),
                        to_official(t, rule.xform, key, source), key, source);
          done = true;
        }
      }
    }
    if (done) continue;
    // A model key we cannot place would silently vanish from the model: refuse it.
    ST_CHECK(!starts_with(key, "model.") && key != "lm_head.weight",
             "{}: fla key '{}' has no official counterpart (expected the names of fla's RWKV7 model)", source, key);
    insert_unique(out, key, t, key, source);  // not a model weight (e.g. a time_state): keep as is
  }
  fill_block0_v_lora(out);
  return out;
}

TensorMap official_to_fla(const TensorMap& official) {
  TensorMap out;
  for (const auto& [key, t] : official) {
    if (key == "blocks.0.att.v0" || key == "blocks.0.att.v1" || key == "blocks.0.att.v2") continue;  // unused
    bool done = false;
    for (const auto& [official_name, fla_name] : kGlobalNames) {
      if (key == official_name) {
        out.emplace(fla_name, t);
        done = true;
      }
    }
    if (auto layer = split_layer_key(key, "blocks."); layer && !done) {
      for (const Rule& rule : kLayerRules) {
        if (layer->second == rule.official) {
          out.emplace(fmt::format("model.layers.{}.{}", layer->first, rule.fla), to_fla(t, rule.xform, key));
          done = true;
        }
      }
    }
    if (!done) out.emplace(key, t);  // not a model weight: keep as is
  }
  return out;
}

TensorMap load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading: {}", path, std::strerror(errno));
  std::string head(9, '\0');
  in.read(head.data(), 9);
  head.resize(static_cast<size_t>(in.gcount()));
  in.close();

  TensorMap tensors;
  if (starts_with(head, std::string("PK\x03\x04", 4)) || starts_with(head, "\x80\x02")) {
    tensors = load_pth(path);  // (a legacy pickle gets load_pth's own message)
  } else if (head.size() == 9 && head[8] == '{') {
    tensors = load_safetensors(path);  // 8-byte length, then the JSON header
  } else {
    fail("{}: byte 0: neither a .pth (zip, \"PK\\x03\\x04\") nor a .safetensors file (8-byte length, then '{{')",
         path);
  }
  return looks_like_fla_naming(tensors) ? fla_to_official(tensors, path) : tensors;
}

void save_checkpoint(const std::string& path, const TensorMap& tensors) {
  const std::string ext = ".safetensors";
  const bool safetensors = path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  if (safetensors) {
    save_safetensors(path, tensors);
  } else {
    save_pth(path, tensors);
  }
}

}  // namespace statetune::workers
