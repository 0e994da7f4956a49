// .safetensors: an 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype", "shape", "data_offsets": [begin, end)}, "__metadata__": {str: str}}, then the
// data section, offsets relative to its start. Validated as strictly as the reference Rust
// implementation: every tensor's byte range lies in the file, has numel * itemsize bytes, and
// the ranges tile the data section exactly (no overlap, no hole, nothing after the last).
// Tensors are read straight into their own memory, so a big file is never held twice.
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/workers/checkpoint.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; so must the host be");

namespace statetune::workers {
namespace {

// The reference implementation's limit; a bigger header is a corrupt length, not a model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

std::optional<at::ScalarType> dtype_from_name(const std::string& name) {
  if (name == "F32") return at::kFloat;
  if (name == "F16") return at::kHalf;
  if (name == "BF16") return at::kBFloat16;
  if (name == "F64") return at::kDouble;
  return std::nullopt;
}

std::optional<std::string> dtype_to_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "F32";
    case at::kHalf: return "F16";
    case at::kBFloat16: return "BF16";
    case at::kDouble: return "F64";
    default: return std::nullopt;
  }
}

struct Entry {
  std::string name;
  at::ScalarType dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;  // relative to the data section
};

// One header entry, checked against the data section's size.
Entry parse_entry(const std::string& path, const std::string& name, const nlohmann::json& j, uint64_t data_bytes) {
  if (!j.is_object()) fail("{}: tensor '{}': header entry is {}, expected an object", path, name, j.type_name());
  Entry e{name, at::kFloat, {}, 0, 0};

  auto dtype = j.find("dtype");
  if (dtype == j.end() || !dtype->is_string()) fail("{}: tensor '{}': missing string field 'dtype'", path, name);
  auto t = dtype_from_name(dtype->get<std::string>());
  if (!t)
    fail("{}: tensor '{}': dtype '{}' is not supported, expected F32, F16, BF16 or F64", path, name,
         dtype->get<std::string>());
  e.dtype = *t;

  auto shape = j.find("shape");
  if (shape == j.end() || !shape->is_array()) fail("{}: tensor '{}': missing array field 'shape'", path, name);
  uint64_t numel = 1;
  for (const auto& d : *shape) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t{INT64_MAX})
      fail("{}: tensor '{}': shape {} holds {}, expected non-negative integers", path, name, shape->dump(), d.dump());
    const uint64_t dim = d.get<uint64_t>();
    if (__builtin_mul_overflow(numel, dim, &numel))
      fail("{}: tensor '{}': shape {} has more elements than fit in 64 bits", path, name, shape->dump());
    e.shape.push_back(static_cast<int64_t>(dim));
  }

  auto offsets = j.find("data_offsets");
  if (offsets == j.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail("{}: tensor '{}': 'data_offsets' must be [begin, end] (two non-negative integers), found {}", path, name,
         offsets == j.end() ? "nothing" : offsets->dump());
  e.begin = (*offsets)[0].get<uint64_t>();
  e.end = (*offsets)[1].get<uint64_t>();
  if (e.begin > e.end) fail("{}: tensor '{}': data_offsets [{}, {}) end before they begin", path, name, e.begin, e.end);
  if (e.end > data_bytes)
    fail("{}: tensor '{}': data_offsets [{}, {}) run past the data section of {} bytes", path, name, e.begin, e.end,
         data_bytes);
  uint64_t expected = 0;
  if (__builtin_mul_overflow(numel, static_cast<uint64_t>(c10::elementSize(e.dtype)), &expected) ||
      e.end - e.begin != expected)
    fail("{}: tensor '{}': data_offsets [{}, {}) hold {} bytes, expected {} ({} elements of {})", path, name, e.begin,
         e.end, e.end - e.begin, expected, numel, dtype->get<std::string>());
  return e;
}

// The ranges must tile [0, data_bytes) exactly.
void check_tiling(const std::string& path, std::vector<Entry>& entries, uint64_t data_bytes) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < covered)
      fail("{}: tensor '{}': data_offsets [{}, {}) overlap tensor '{}' [{}, {})", path, e.name, e.begin, e.end,
           previous->name, previous->begin, previous->end);
    if (e.begin > covered)
      fail("{}: tensor '{}': data_offsets [{}, {}) leave bytes [{}, {}) of the data section unused (holes are not allowed)",
           path, e.name, e.begin, e.end, covered, e.begin);
    covered = e.end;
    previous = &e;
  }
  if (covered != data_bytes)
    fail("{}: the data section has {} bytes but the tensors cover only [0, {})", path, data_bytes, covered);
}

}  // namespace

TensorMap load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail("{}: cannot open for reading: {}", path, std::strerror(errno));
  const uint64_t file_bytes = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_bytes < 8) fail("{}: file is {} bytes, too short for the 8-byte safetensors header length", path, file_bytes);

  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_bytes = 0;
  for (int k = 7; k >= 0; --k) header_bytes = (header_bytes << 8) | len_bytes[k];
  if (header_bytes > file_bytes - 8)
    fail("{}: byte 0: header length {} runs past the end of the file ({} bytes)", path, header_bytes, file_bytes);
  if (header_bytes > kMaxHeaderBytes)
    fail("{}: byte 0: header length {} is over the {} bytes a safetensors header may have", path, header_bytes,
         kMaxHeaderBytes);

  std::string text(header_bytes, '\0');
  if (!in.read(text.data(), static_cast<std::streamsize>(header_bytes))) fail("{}: read error in the header", path);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::string why = e.what();
    std::replace(why.begin(), why.end(), '\n', ' ');  // "last read: ..." may quote a newline
    fail("{}: the header at bytes [8, {}) is not valid JSON: {}", path, 8 + header_bytes, why);
  }
  if (!header.is_object()) fail("{}: the header is a JSON {}, expected an object", path, header.type_name());

  const uint64_t data_start = 8 + header_bytes;
  const uint64_t data_bytes = file_bytes - data_start;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) fail("{}: '__metadata__' is a JSON {}, expected an object", path, value.type_name());
      for (const auto& [k, v] : value.items())
        if (!v.is_string()) fail("{}: '__metadata__' entry '{}' is a JSON {}, expected a string", path, k, v.type_name());
      continue;
    }
    entries.push_back(parse_entry(path, name, value, data_bytes));
  }
  check_tiling(path, entries, data_bytes);

  TensorMap out;
  for (const Entry& e : entries) {
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(e.dtype));
    in.seekg(static_cast<std::streamoff>(data_start + e.begin));
    if (e.end > e.begin && !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(e.end - e.begin)))
      fail("{}: tensor '{}': read error at byte {}", path, e.name, data_start + e.begin);
    out.emplace(e.name, std::move(t));
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors) {
  nlohmann::json header = nlohmann::json::object();
  header["__metadata__"] = {{"format", "pt"}};  // what HF transformers expects of a torch file
  std::vector<at::Tensor> data;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto dtype = dtype_to_name(tensor.scalar_type());
    if (!dtype)
      fail("{}: tensor '{}' has dtype {}; safetensors files are written for F32, F16, BF16 or F64 only", path, name,
           c10::toString(tensor.scalar_type()));
    at::Tensor t = tensor.detach().cpu().contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", *dtype}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // as the reference writer: the data starts 8-byte aligned

  std::string file;
  file.reserve(8 + text.size() + offset);
  for (int k = 0; k < 8; ++k) file.push_back(static_cast<char>((text.size() >> (8 * k)) & 0xff));
  file += text;
  for (const at::Tensor& t : data)
    if (t.numel() > 0) file.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, file);
}

}  // namespace statetune::workers
