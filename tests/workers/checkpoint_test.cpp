// Checkpoint files: .pth and .safetensors round trips, fla naming, Python interop, the golden
// fixture, seeded random models, and one test per kind of bad file (each asserting its message).
#include <gtest/gtest.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/model_config.h"
#include "small_config.h"
#include "expect_error.h"
#include "test_paths.h"

namespace statetune::workers {
namespace {

namespace fs = std::filesystem;

ModelConfig small_config() { return testing::small_config(); }

void expect_config_eq(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.n_layer, b.n_layer);
  EXPECT_EQ(a.n_embd, b.n_embd);
  EXPECT_EQ(a.head_size, b.head_size);
  EXPECT_EQ(a.n_head, b.n_head);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.rank_w, b.rank_w);
  EXPECT_EQ(a.rank_a, b.rank_a);
  EXPECT_EQ(a.rank_v, b.rank_v);
  EXPECT_EQ(a.rank_g, b.rank_g);
}

// Same keys, dtypes, shapes and bits.
void expect_same(const TensorMap& a, const TensorMap& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [key, t] : a) {
    auto it = b.find(key);
    ASSERT_NE(it, b.end()) << key;
    EXPECT_EQ(t.scalar_type(), it->second.scalar_type()) << key;
    EXPECT_TRUE(at::equal(t, it->second)) << key;
  }
}

std::string dir_for(const std::string& name) { return testing::temp_dir("checkpoint_" + name); }

using testing::expect_error;

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A .safetensors file from a raw header text and data section.
std::string raw_safetensors(const std::string& header, const std::string& data) {
  std::string file;
  for (int k = 0; k < 8; ++k) file.push_back(static_cast<char>((header.size() >> (8 * k)) & 0xff));
  return file + header + data;
}

bool python_torch_available() {
  return fs::exists(statetune::testing::torch_python()) &&
         std::system((statetune::testing::torch_python() + " -c 'import torch' >/dev/null 2>&1").c_str()) == 0;
}

// ---- round trips ------------------------------------------------------------------------

TEST(Checkpoint, PthRoundTrip) {
  const auto dir = dir_for("pth_round_trip");
  const TensorMap model = init_random_model(small_config(), 1);
  save_pth(dir + "/m.pth", model);
  const TensorMap back = load_pth(dir + "/m.pth");
  expect_same(model, back);
  for (const auto& [key, t] : back) {
    EXPECT_FALSE(t.requires_grad()) << key;
    EXPECT_TRUE(t.is_contiguous()) << key;
  }
  expect_same(model, load_checkpoint(dir + "/m.pth"));
}

TEST(Checkpoint, SafetensorsRoundTrip) {
  const auto dir = dir_for("st_round_trip");
  TensorMap model = init_random_model(small_config(), 2);
  model["empty"] = at::zeros({0, 3});  // a zero-byte tensor is legal
  save_safetensors(dir + "/m.safetensors", model);
  expect_same(model, load_safetensors(dir + "/m.safetensors"));
  expect_same(model, load_checkpoint(dir + "/m.safetensors"));
  // The data section starts 8-byte aligned, like the reference writer's files.
  const std::string bytes = read_file_bytes(dir + "/m.safetensors");
  uint64_t header = 0;
  for (int k = 7; k >= 0; --k) header = (header << 8) | static_cast<unsigned char>(bytes[k]);
  EXPECT_EQ((8 + header) % 8, 0u);
}

TEST(Checkpoint, SaveCheckpointPicksFormatByExtension) {
  const auto dir = dir_for("by_extension");
  const TensorMap model = init_random_model(small_config(), 3);
  save_checkpoint(dir + "/m.safetensors", model);
  save_checkpoint(dir + "/m.pth", model);
  EXPECT_EQ(read_file_bytes(dir + "/m.pth").substr(0, 4), std::string("PK\x03\x04", 4));
  EXPECT_EQ(read_file_bytes(dir + "/m.safetensors")[8], '{');
}

TEST(Checkpoint, PthAndSafetensorsLoadBitIdentically) {
  const auto dir = dir_for("pth_vs_st");
  const TensorMap model = init_random_model(small_config(), 4);
  save_checkpoint(dir + "/m.pth", model);
  save_checkpoint(dir + "/m.safetensors", model);
  expect_same(load_checkpoint(dir + "/m.pth"), load_checkpoint(dir + "/m.safetensors"));
}

TEST(Checkpoint, Bf16AndFp16Load) {
  const auto dir = dir_for("half");
  const TensorMap model = init_random_model(small_config(), 5);
  for (auto dtype : {at::kBFloat16, at::kHalf}) {
    TensorMap half;
    for (const auto& [key, t] : model) half[key] = t.to(dtype);
    save_pth(dir + "/h.pth", half);
    save_safetensors(dir + "/h.safetensors", half);
    const TensorMap a = load_checkpoint(dir + "/h.pth"), b = load_checkpoint(dir + "/h.safetensors");
    expect_same(half, a);
    expect_same(half, b);
    expect_config_eq(infer_model_config(a, "h.pth"), small_config());
  }
}

// ---- fla-hub naming -----------------------------------------------------------------------

TEST(Checkpoint, OfficialToFlaUsesFlaShapes) {
  const ModelConfig c = small_config();
  const TensorMap official = init_random_model(c, 6);
  const TensorMap fla = official_to_fla(official);
  EXPECT_TRUE(looks_like_fla_naming(fla));
  EXPECT_FALSE(looks_like_fla_naming(official));
  EXPECT_TRUE(at::equal(fla.at("model.layers.1.attn.w_lora.lora.0.weight"), official.at("blocks.1.att.w1").t()));
  EXPECT_TRUE(at::equal(fla.at("model.layers.1.attn.w_lora.lora.2.weight"), official.at("blocks.1.att.w2").t()));
  EXPECT_EQ(fla.at("model.layers.1.attn.w_lora.lora.2.bias").sizes(), at::IntArrayRef({c.n_embd}));
  EXPECT_EQ(fla.at("model.layers.0.attn.k_k").sizes(), at::IntArrayRef({c.n_embd}));
  EXPECT_EQ(fla.at("model.layers.0.ffn.x_k").sizes(), at::IntArrayRef({c.n_embd}));
  EXPECT_EQ(fla.at("model.layers.0.attn.x_r").sizes(), at::IntArrayRef({1, 1, c.n_embd}));
  EXPECT_EQ(fla.at("model.layers.1.attn.g_lora.lora.0.weight").sizes(), at::IntArrayRef({c.rank_g, c.n_embd}));
  EXPECT_TRUE(fla.count("model.layers.0.pre_norm.weight"));
  EXPECT_TRUE(fla.count("model.embeddings.weight") && fla.count("model.norm.bias") && fla.count("lm_head.weight"));
  EXPECT_FALSE(fla.count("model.layers.0.attn.v_lora.lora.0.weight"));  // fla has no v_lora in layer 0
  EXPECT_TRUE(fla.count("model.layers.1.attn.v_lora.lora.0.weight"));
  EXPECT_EQ(fla.size(), official.size() - 3);
}

TEST(Checkpoint, OfficialFlaOfficialIsIdentity) {
  const ModelConfig c = small_config();
  const TensorMap official = init_random_model(c, 7);
  const TensorMap back = fla_to_official(official_to_fla(official), "mem");
  ASSERT_EQ(back.size(), official.size());
  for (const auto& [key, t] : official) {
    const at::Tensor& b = back.at(key);
    if (key == "blocks.0.att.v0" || key == "blocks.0.att.v1" || key == "blocks.0.att.v2") {
      EXPECT_EQ(b.sizes(), t.sizes()) << key;  // unused by the model: zero-filled
      EXPECT_EQ(b.abs().sum().item<float>(), 0.0f) << key;
    } else {
      EXPECT_TRUE(at::equal(b, t)) << key;
      EXPECT_TRUE(b.is_contiguous()) << key;
    }
  }
  expect_config_eq(infer_model_config(back, "mem"), c);
  // And fla -> official -> fla is exact.
  const TensorMap fla = official_to_fla(official);
  expect_same(fla, official_to_fla(fla_to_official(fla, "mem")));
}

TEST(Checkpoint, FlaSafetensorsLoadsAsOfficial) {
  const auto dir = dir_for("fla_file");
  const TensorMap official = init_random_model(small_config(), 8);
  save_safetensors(dir + "/fla.safetensors", official_to_fla(official));
  const TensorMap loaded = load_checkpoint(dir + "/fla.safetensors");
  EXPECT_FALSE(looks_like_fla_naming(loaded));
  expect_config_eq(infer_model_config(loaded, "fla.safetensors"), small_config());
  for (const auto& [key, t] : official) {
    if (key.rfind("blocks.0.att.v", 0) != 0) {
      EXPECT_TRUE(at::equal(loaded.at(key), t)) << key;
    }
  }
}

TEST(Checkpoint, FlaUnknownModelKeyIsAnError) {
  TensorMap fla = official_to_fla(init_random_model(small_config(), 9));
  fla["model.layers.1.attn.mystery"] = at::zeros({3});
  expect_error([&] { fla_to_official(fla, "x.safetensors"); },
               "x.safetensors: fla key 'model.layers.1.attn.mystery' has no official counterpart");
}

// ---- Python interop ---------------------------------------------------------------------

// Python's torch.load reads our files (fp32, bf16, fp16) and re-saves them as a state dict the
// way Python code does: an OrderedDict with `_metadata`, nn.Parameter values, and views into a
// shared storage. We read those back and compare bits both ways.
TEST(Checkpoint, PythonTorchReadsOurPthAndWeReadItsFiles) {
  if (!python_torch_available())
    GTEST_SKIP() << "SKIPPED LOUDLY: " << statetune::testing::torch_python()
                 << " with torch is not available; Python interop untested";
  const auto dir = dir_for("python");
  const TensorMap model = init_random_model(small_config(), 10);
  TensorMap mixed;
  mixed["bf16"] = model.at("blocks.0.att.w1").to(at::kBFloat16);
  mixed["fp16"] = model.at("blocks.1.att.r_k").to(at::kHalf);
  mixed["fp32"] = model.at("head.weight");
  mixed["f64"] = model.at("ln_out.weight").to(at::kDouble);
  save_pth(dir + "/model.pth", model);
  save_pth(dir + "/mixed.pth", mixed);

  const std::string script = R"(
import collections, sys, torch
d = sys.argv[1]
for name in ['model', 'mixed']:
    sd = torch.load(f'{d}/{name}.pth')
    assert type(sd) is dict, type(sd)
    od = collections.OrderedDict()
    for k, v in sd.items():
        assert isinstance(v, torch.Tensor) and not v.requires_grad, k
        od[k] = torch.nn.Parameter(v.clone(), requires_grad=False)
    od._metadata = collections.OrderedDict({'': {'version': 1}})
    torch.save(od, f'{d}/{name}_py.pth')
with open(f'{d}/dtypes.txt', 'w') as f:
    for k, v in torch.load(f'{d}/mixed.pth').items():
        f.write(f'{k} {v.dtype}\n')
base = torch.arange(20, dtype=torch.float32)
torch.save({'slice': base[3:7], 'strided': base.view(4, 5)[:, 1], 'whole': base}, f'{d}/views_py.pth')
)";
  write_bytes(dir + "/check.py", script);
  ASSERT_EQ(std::system((statetune::testing::torch_python() + " " + dir + "/check.py " + dir).c_str()), 0)
      << "the Python side failed";

  expect_same(model, load_pth(dir + "/model_py.pth"));
  expect_same(mixed, load_pth(dir + "/mixed_py.pth"));
  EXPECT_EQ(read_file_bytes(dir + "/dtypes.txt"),
            "bf16 torch.bfloat16\nf64 torch.float64\nfp16 torch.float16\nfp32 torch.float32\n");
  const TensorMap views = load_pth(dir + "/views_py.pth");
  const at::Tensor base = at::arange(20, at::TensorOptions().dtype(at::kFloat));
  EXPECT_TRUE(at::equal(views.at("slice"), base.slice(0, 3, 7)));
  EXPECT_TRUE(at::equal(views.at("strided"), base.view({4, 5}).select(1, 1)));
  EXPECT_TRUE(at::equal(views.at("whole"), base));
  EXPECT_TRUE(views.at("strided").is_contiguous());
}

// ---- the golden fixture -------------------------------------------------------------------

TEST(Checkpoint, GoldenFixtureLoads) {
  SHARED_OR_SKIP(path, "fixtures/rwkv7-tiny/model.pth");
  const TensorMap w = load_checkpoint(path);
  const ModelConfig c = infer_model_config(w, path);
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_embd, 128);
  EXPECT_EQ(c.head_size, 64);
  EXPECT_EQ(c.n_head, 2);
  EXPECT_EQ(c.vocab_size, 1024);
  EXPECT_EQ(c.rank_w, 16);
  EXPECT_EQ(c.rank_a, 16);
  EXPECT_EQ(c.rank_v, 8);
  EXPECT_EQ(c.rank_g, 32);
  EXPECT_EQ(w.at("emb.weight").scalar_type(), at::kFloat);
}

// ---- random models ----------------------------------------------------------------------

TEST(InitModel, DeterministicPerSeed) {
  const TensorMap a = init_random_model(small_config(), 42), b = init_random_model(small_config(), 42);
  const TensorMap c = init_random_model(small_config(), 43);
  expect_same(a, b);
  for (const auto& [key, t] : a) EXPECT_FALSE(at::equal(t, c.at(key))) << key;
}

TEST(InitModel, ShapesMatchConfigAndNothingIsZero) {
  const ModelConfig cfg = small_config();
  const TensorMap m = init_random_model(cfg, 11);
  expect_config_eq(infer_model_config(m, "random"), cfg);
  EXPECT_EQ(m.size(), expected_shapes(cfg).size());
  for (const auto& [key, t] : m) {
    EXPECT_EQ(t.scalar_type(), at::kFloat) << key;
    EXPECT_GT(t.norm().item<double>(), 0.0) << key;
    EXPECT_TRUE(at::isfinite(t).all().item<bool>()) << key;
  }
  // n_head is derived when left 0.
  ModelConfig no_head = cfg;
  no_head.n_head = 0;
  expect_config_eq(infer_model_config(init_random_model(no_head, 11), "random"), cfg);
}

TEST(InitModel, LayerOneDoesNotDependOnDepth) {
  ModelConfig deeper = small_config();
  deeper.n_layer = 3;
  const TensorMap a = init_random_model(small_config(), 12), b = init_random_model(deeper, 12);
  EXPECT_TRUE(at::equal(a.at("blocks.1.att.w1"), b.at("blocks.1.att.w1")));
}

TEST(InitModel, InvalidConfigIsAnError) {
  ModelConfig c = small_config();
  c.head_size = 24;
  c.n_head = 0;
  expect_error([&] { init_random_model(c, 1); }, "n_embd 64 is not a multiple of head_size 24");
  c = small_config();
  c.rank_g = 0;
  expect_error([&] { init_random_model(c, 1); }, "rank_g = 0, expected > 0");
  c = small_config();
  c.n_head = 3;
  expect_error([&] { init_random_model(c, 1); }, "n_head 3 != n_embd / head_size = 4");
}

// ---- model config checks -----------------------------------------------------------------

TEST(ModelConfigCheck, MissingKey) {
  TensorMap m = init_random_model(small_config(), 13);
  m.erase("blocks.1.att.key.weight");
  expect_error([&] { infer_model_config(m, "m.pth"); },
               "m.pth: missing key 'blocks.1.att.key.weight' (expected shape [64, 64])");
}

TEST(ModelConfigCheck, MisshapedKey) {
  TensorMap m = init_random_model(small_config(), 14);
  m["blocks.1.att.w1"] = at::zeros({64, 4});
  expect_error([&] { infer_model_config(m, "m.pth"); }, "m.pth: key 'blocks.1.att.w1' has shape [64, 4], expected [64, 8]");
}

TEST(ModelConfigCheck, HeadsMustTileEmbedding) {
  TensorMap m = init_random_model(small_config(), 15);
  m["blocks.0.att.r_k"] = at::zeros({3, 16});
  expect_error([&] { infer_model_config(m, "m.pth"); }, "key 'blocks.0.att.r_k' has shape [3, 16], expected H * N = C = 64");
}

TEST(ModelConfigCheck, LayerGap) {
  ModelConfig c = small_config();
  c.n_layer = 3;
  TensorMap m = init_random_model(c, 16);
  m.erase("blocks.1.ffn.key.weight");
  expect_error([&] { infer_model_config(m, "m.pth"); }, "but 'blocks.1.ffn.key.weight' is missing");
}

TEST(ModelConfigCheck, NonModelDtype) {
  TensorMap m = init_random_model(small_config(), 17);
  m["head.weight"] = m["head.weight"].to(at::kDouble);
  expect_error([&] { infer_model_config(m, "m.pth"); }, "key 'head.weight' has dtype Double, expected float32");
}

TEST(ModelConfigCheck, TimeStateKeysAreIgnored) {
  TensorMap m = init_random_model(small_config(), 18);
  m["blocks.0.att.time_state"] = at::zeros({4, 16, 16});
  m["blocks.1.att.time_state"] = at::zeros({4, 16, 16});
  expect_config_eq(infer_model_config(m, "m.pth"), small_config());
}

// ---- bad .pth files -----------------------------------------------------------------------

TEST(BadPth, Truncated) {
  const auto dir = dir_for("truncated");
  save_pth(dir + "/m.pth", init_random_model(small_config(), 19));
  const std::string bytes = read_file_bytes(dir + "/m.pth");
  write_bytes(dir + "/cut.pth", bytes.substr(0, bytes.size() / 2));
  expect_error([&] { load_pth(dir + "/cut.pth"); }, "cut.pth: cannot read the torch.save zip archive (truncated or corrupt?)");
  expect_error([&] { load_checkpoint(dir + "/cut.pth"); }, "cut.pth: cannot read the torch.save zip archive");
}

TEST(BadPth, WrongMagic) {
  const auto dir = dir_for("magic");
  write_bytes(dir + "/m.pth", "hello world, not a checkpoint");
  expect_error([&] { load_pth(dir + "/m.pth"); },
               "m.pth: byte 0: not a torch.save zip archive: starts with 68 65 6c 6c, expected 50 4b 03 04");
  expect_error([&] { load_checkpoint(dir + "/m.pth"); }, "m.pth: byte 0: neither a .pth");
  write_bytes(dir + "/legacy.pth", std::string("\x80\x02}q\x00.", 6));
  expect_error([&] { load_checkpoint(dir + "/legacy.pth"); }, "legacy (pre-1.6, non-zip) torch.save file");
  write_bytes(dir + "/empty.pth", "");
  expect_error([&] { load_pth(dir + "/empty.pth"); }, "starts with nothing (empty file)");
}

TEST(BadPth, MissingFile) {
  expect_error([] { load_checkpoint("/nonexistent/m.pth"); }, "/nonexistent/m.pth: cannot open for reading");
}

TEST(BadPth, IntegerTensor) {
  const auto dir = dir_for("int_pth");
  save_pth(dir + "/m.pth", {{"emb.weight", at::zeros({2, 2})}, {"ids", at::arange(4)}});
  expect_error([&] { load_pth(dir + "/m.pth"); }, "m.pth: key 'ids' has dtype int64, expected float32, float16, bfloat16");
}

TEST(BadPth, PickleIsNotADict) {
  const auto dir = dir_for("not_dict");
  auto list = torch::jit::pickle_save(c10::IValue(c10::List<at::Tensor>({at::zeros({2})})));
  write_file_atomic(dir + "/list.pth", std::string_view(list.data(), list.size()));
  expect_error([&] { load_pth(dir + "/list.pth"); }, "list.pth: data.pkl holds a list, expected a dict of str -> tensor");
  c10::Dict<std::string, int64_t> ints;
  ints.insert("n", 3);
  auto dict = torch::jit::pickle_save(c10::IValue(ints));
  write_file_atomic(dir + "/ints.pth", std::string_view(dict.data(), dict.size()));
  expect_error([&] { load_pth(dir + "/ints.pth"); }, "ints.pth: key 'n' holds a int, expected a tensor");
}

// Every truncation and a few hundred random byte flips of small files: each load either works
// or throws statetune::Error; nothing crashes and nothing else escapes.
TEST(BadPth, CorruptionNeverCrashes) {
  const auto dir = dir_for("corrupt");
  ModelConfig c = small_config();
  c.n_layer = 1;
  c.n_embd = 16;
  c.head_size = 8;
  c.n_head = 2;
  c.vocab_size = 4;
  const TensorMap model = init_random_model(c, 21);
  save_pth(dir + "/m.pth", model);
  save_safetensors(dir + "/m.safetensors", model);
  at::Generator gen = at::detail::createCPUGenerator(5);
  for (const std::string name : {"m.pth", "m.safetensors"}) {
    const std::string bytes = read_file_bytes(dir + "/" + name);
    const std::string bad = dir + "/bad_" + name;
    auto try_load = [&](const std::string& what) {
      try {
        load_checkpoint(bad);
      } catch (const Error& e) {
        // ST_SHOW=1 prints every message, to review them by eye.
        if (std::getenv("ST_SHOW")) std::cout << what << ": " << e.what() << "\n";
      } catch (const std::exception& e) {
        ADD_FAILURE() << name << " " << what << ": escaped a non-statetune exception: " << e.what();
      }
    };
    for (size_t n = 0; n < bytes.size(); n += bytes.size() / 200 + 1) {
      write_bytes(bad, bytes.substr(0, n));
      try_load(fmt::format("truncated to {}", n));
    }
    for (int k = 0; k < 300; ++k) {
      std::string flipped = bytes;
      const auto pos = at::randint(static_cast<int64_t>(bytes.size()), {1}, gen).item<int64_t>();
      flipped[static_cast<size_t>(pos)] ^= static_cast<char>(1 + at::randint(255, {1}, gen).item<int64_t>());
      write_bytes(bad, flipped);
      try_load(fmt::format("byte {} flipped", pos));
    }
  }
}

// ---- bad .safetensors files ---------------------------------------------------------------

TEST(BadSafetensors, HeaderLengthBeyondFile) {
  const auto dir = dir_for("st_len");
  std::string file = raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd");
  file[1] = 0x10;  // length += 4096
  write_bytes(dir + "/m.safetensors", file);
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); }, "m.safetensors: byte 0: header length 4150 runs past the end of the file (66 bytes)");
  write_bytes(dir + "/short.safetensors", "abc");
  expect_error([&] { load_safetensors(dir + "/short.safetensors"); }, "file is 3 bytes, too short");
}

TEST(BadSafetensors, InvalidJson) {
  const auto dir = dir_for("st_json");
  write_bytes(dir + "/m.safetensors", raw_safetensors(R"({"a": {"dtype": "F32",)", ""));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); }, "m.safetensors: the header at bytes [8, 30) is not valid JSON");
  write_bytes(dir + "/arr.safetensors", raw_safetensors("[1, 2]", ""));
  expect_error([&] { load_safetensors(dir + "/arr.safetensors"); }, "the header is a JSON array, expected an object");
}

TEST(BadSafetensors, UnknownDtype) {
  const auto dir = dir_for("st_dtype");
  write_bytes(dir + "/m.safetensors", raw_safetensors(R"({"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}})", "abcd"));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); },
               "m.safetensors: tensor 'a': dtype 'Q7' is not supported, expected F32, F16, BF16 or F64");
  write_bytes(dir + "/i.safetensors", raw_safetensors(R"({"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", "abcdefgh"));
  expect_error([&] { load_safetensors(dir + "/i.safetensors"); }, "tensor 'a': dtype 'I64' is not supported");
}

TEST(BadSafetensors, OffsetsOverflow) {
  const auto dir = dir_for("st_overflow");
  write_bytes(dir + "/m.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,9223372036854775808]}})", "abcd"));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); },
               "m.safetensors: tensor 'a': data_offsets [0, 9223372036854775808) run past the data section of 4 bytes");
  write_bytes(dir + "/max.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551615,18446744073709551615]}})", "abcd"));
  expect_error([&] { load_safetensors(dir + "/max.safetensors"); }, "run past the data section of 4 bytes");
  write_bytes(dir + "/big.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}})", "abcd"));
  expect_error([&] { load_safetensors(dir + "/big.safetensors"); }, "'data_offsets' must be [begin, end] (two non-negative integers)");
  write_bytes(dir + "/shape.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", "abcd"));
  expect_error([&] { load_safetensors(dir + "/shape.safetensors"); }, "has more elements than fit in 64 bits");
}

TEST(BadSafetensors, SizeMismatch) {
  const auto dir = dir_for("st_size");
  write_bytes(dir + "/m.safetensors", raw_safetensors(R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", std::string(12, 'x')));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); },
               "tensor 'a': data_offsets [0, 12) hold 12 bytes, expected 16 (4 elements of F32)");
}

TEST(BadSafetensors, OverlappingOffsets) {
  const auto dir = dir_for("st_overlap");
  write_bytes(dir + "/m.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                              std::string(12, 'x')));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); },
               "m.safetensors: tensor 'b': data_offsets [4, 12) overlap tensor 'a' [0, 8)");
}

TEST(BadSafetensors, HolesAndTrailingBytes) {
  const auto dir = dir_for("st_hole");
  write_bytes(dir + "/m.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                              std::string(12, 'x')));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); },
               "tensor 'b': data_offsets [8, 12) leave bytes [4, 8) of the data section unused");
  write_bytes(dir + "/tail.safetensors",
              raw_safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(6, 'x')));
  expect_error([&] { load_safetensors(dir + "/tail.safetensors"); }, "the data section has 6 bytes but the tensors cover only [0, 4)");
}

TEST(BadSafetensors, MetadataMustBeStrings) {
  const auto dir = dir_for("st_meta");
  write_bytes(dir + "/ok.safetensors",
              raw_safetensors(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", "abcd"));
  EXPECT_EQ(load_safetensors(dir + "/ok.safetensors").size(), 1u);
  write_bytes(dir + "/m.safetensors", raw_safetensors(R"({"__metadata__":{"n":3}})", ""));
  expect_error([&] { load_safetensors(dir + "/m.safetensors"); }, "'__metadata__' entry 'n' is a JSON number, expected a string");
}

// ---- failed saves -------------------------------------------------------------------------

TEST(Checkpoint, FailedSaveThrowsAndLeavesNothing) {
  const auto dir = dir_for("failed_save");
  const TensorMap model = init_random_model(small_config(), 20);
  for (const std::string name : {"m.pth", "m.safetensors"}) {
    const std::string path = dir + "/missing/" + name;
    expect_error([&] { save_checkpoint(path, model); }, "cannot open for writing");
    EXPECT_FALSE(fs::exists(dir + "/missing"));
  }
  EXPECT_TRUE(fs::is_empty(dir));
  TensorMap ints = {{"ids", at::arange(3)}};
  expect_error([&] { save_safetensors(dir + "/i.safetensors", ints); }, "tensor 'ids' has dtype Long");
  EXPECT_TRUE(fs::is_empty(dir));
}

}  // namespace
}  // namespace statetune::workers
