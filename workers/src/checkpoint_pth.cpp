// .pth files: the zip archive written by Python's torch.save (>= 1.6) holding a dict of
// str -> tensor. The zip is read with torch's own reader (PyTorchStreamReader), but data.pkl
// with a small unpickler of our own: LibTorch 1.13's C++ unpickler (behind torch::pickle_load)
// fails on `torch.save(model.state_dict())`, whose OrderedDict ends in a BUILD of `_metadata`,
// and it needs the whole file in memory first. Ours understands exactly the subset torch.save
// writes for a state dict, calls no Python code, and names the byte offset of anything else.
// Writing uses torch's Pickler and zip writer without type tags (a plain dict, which
// Python's torch.load reads, also with weights_only=True).
#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <unordered_map>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/workers/checkpoint.h"

namespace statetune::workers {
namespace {

// torch's messages run over many lines (and may carry a C++ backtrace); keep the first.
std::string first_line(const char* message) {
  std::string s(message);
  auto end = s.find('\n');
  return end == std::string::npos ? s : s.substr(0, end);
}

std::string hex_bytes(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) out += fmt::format("{}{:02x}", out.empty() ? "" : " ", c);
  return out.empty() ? "nothing (empty file)" : out;
}

std::string dtype_name(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    case at::kLong: return "int64";
    case at::kInt: return "int32";
    default: return c10::toString(t);
  }
}

bool is_float_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kHalf || t == at::kBFloat16 || t == at::kDouble;
}

// Checked before torch sees the file, so that a wrong file gets a clear message rather than
// whatever the zip reader makes of it.
void check_zip_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading: {}", path, std::strerror(errno));
  std::string head(4, '\0');
  in.read(head.data(), 4);
  head.resize(static_cast<size_t>(in.gcount()));
  if (head == std::string("PK\x03\x04", 4)) return;
  // Pickle protocol 2 at byte 0 is torch.save's pre-1.6 format.
  if (head.size() >= 2 && head[0] == '\x80' && head[1] == '\x02')
    fail("{}: byte 0: legacy (pre-1.6, non-zip) torch.save file, expected a zip archive; re-save it with a newer torch",
         path);
  fail("{}: byte 0: not a torch.save zip archive: starts with {}, expected 50 4b 03 04 (\"PK\\x03\\x04\")", path,
       hex_bytes(head));
}

// ---- the unpickler ---------------------------------------------------------------------

struct Value;
using Ref = std::shared_ptr<Value>;

// The few Python objects a torch.save state dict is made of. Shared (Ref) because the pickle
// memo hands out the same object again and dicts are filled after they are memoized.
struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kTuple, kList, kDict, kGlobal, kStorage, kTensor };
  Kind kind = Kind::kNone;
  int64_t i = 0;
  double f = 0;
  std::string s;                             // str, or "module.name" of a global
  std::vector<Ref> items;                    // tuple / list
  std::vector<std::pair<Ref, Ref>> entries;  // dict, insertion order (a later equal key wins)
  at::Tensor tensor;                         // storage (1-D, its dtype) or tensor
};

const char* kind_name(Value::Kind k) {
  using K = Value::Kind;
  switch (k) {
    case K::kNone: return "None";
    case K::kBool: return "bool";
    case K::kInt: return "int";
    case K::kFloat: return "float";
    case K::kStr: return "str";
    case K::kTuple: return "tuple";
    case K::kList: return "list";
    case K::kDict: return "dict";
    case K::kGlobal: return "global";
    case K::kStorage: return "storage";
    case K::kTensor: return "tensor";
  }
  return "?";
}

Ref make(Value::Kind kind) {
  auto v = std::make_shared<Value>();
  v->kind = kind;
  return v;
}

// Storage classes named in torch.save's persistent ids ("torch.FloatStorage", ...).
std::optional<at::ScalarType> storage_dtype(const std::string& global) {
  static const std::unordered_map<std::string, at::ScalarType> table = {
      {"torch.FloatStorage", at::kFloat},   {"torch.HalfStorage", at::kHalf},   {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.DoubleStorage", at::kDouble}, {"torch.LongStorage", at::kLong},   {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},   {"torch.ByteStorage", at::kByte},
      {"torch.BoolStorage", at::kBool},
  };
  auto it = table.find(global);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

class Unpickler {
 public:
  Unpickler(std::string path, std::string pickle, caffe2::serialize::PyTorchStreamReader& zip)
      : path_(std::move(path)), p_(std::move(pickle)), zip_(zip) {}

  Ref run() {
    while (true) {
      op_pos_ = pos_;
      const auto op = static_cast<uint8_t>(read_bytes(1)[0]);
      if (op == '.') break;  // STOP
      step(op);
    }
    if (stack_.size() != 1) bad(fmt::format("STOP with {} objects on the stack, expected 1", stack_.size()));
    return stack_.back();
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("{}: data.pkl byte {}: {}", path_, op_pos_, what);
  }

  std::string_view read_bytes(size_t n) {
    if (n > p_.size() - pos_)
      bad(fmt::format("pickle truncated: needs {} more bytes at byte {}, data.pkl has {}", n, pos_, p_.size()));
    std::string_view out(p_.data() + pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t read_le(size_t n) {
    auto b = read_bytes(n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v |= static_cast<uint64_t>(static_cast<uint8_t>(b[k])) << (8 * k);
    return v;
  }
  std::string read_line() {
    auto end = p_.find('\n', pos_);
    if (end == std::string::npos) bad("pickle truncated inside a GLOBAL name");
    std::string s = p_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  Ref pop() {
    if (stack_.size() <= mark_floor()) bad("pickle pops an empty stack");
    Ref v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<Ref> pop_to_mark() {
    if (marks_.empty()) bad("pickle uses a MARK that was never set");
    std::vector<Ref> out(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back())),
                         std::make_move_iterator(stack_.end()));
    stack_.resize(marks_.back());
    marks_.pop_back();
    return out;
  }
  Ref& top() {
    if (stack_.size() <= mark_floor()) bad("pickle reads an empty stack");
    return stack_.back();
  }
  Ref expect(Ref v, Value::Kind kind, const char* what) {
    if (v->kind != kind) bad(fmt::format("{} is a {}, expected a {}", what, kind_name(v->kind), kind_name(kind)));
    return v;
  }
  void add_items(Ref& container, std::vector<Ref> items) {
    if (container->kind == Value::Kind::kDict) {
      if (items.size() % 2 != 0) bad("SETITEMS with an odd number of objects");
      for (size_t k = 0; k < items.size(); k += 2) container->entries.emplace_back(items[k], items[k + 1]);
    } else if (container->kind == Value::Kind::kList) {
      for (auto& v : items) container->items.push_back(std::move(v));
    } else {
      bad(fmt::format("adds items to a {}", kind_name(container->kind)));
    }
  }
  void memo_put(uint64_t id) { memo_[id] = top(); }
  void memo_get(uint64_t id) {
    auto it = memo_.find(id);
    if (it == memo_.end()) bad(fmt::format("memo entry {} was never stored", id));
    stack_.push_back(it->second);
  }

  void step(uint8_t op) {
    using K = Value::Kind;
    switch (op) {
      case 0x80: read_bytes(1); break;  // PROTO
      case 0x95: read_bytes(8); break;  // FRAME (protocol 4): a length hint only
      case '(': marks_.push_back(stack_.size()); break;
      case '}': stack_.push_back(make(K::kDict)); break;
      case ']': stack_.push_back(make(K::kList)); break;
      case ')': stack_.push_back(make(K::kTuple)); break;
      case 'N': stack_.push_back(make(K::kNone)); break;
      case 0x88: case 0x89: {  // NEWTRUE, NEWFALSE
        auto v = make(K::kBool);
        v->i = op == 0x88;
        stack_.push_back(v);
      } break;
      case 'K': case 'M': case 'J': {  // BININT1, BININT2, BININT (signed 32)
        auto v = make(K::kInt);
        const uint64_t raw = read_le(op == 'K' ? 1 : op == 'M' ? 2 : 4);
        v->i = op == 'J' ? static_cast<int32_t>(static_cast<uint32_t>(raw)) : static_cast<int64_t>(raw);
        stack_.push_back(v);
      } break;
      case 0x8a: {  // LONG1: little-endian two's complement, up to 8 bytes here
        const size_t n = read_le(1);
        if (n > 8) bad(fmt::format("integer of {} bytes, expected at most 8", n));
        uint64_t raw = n ? read_le(n) : 0;
        if (n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);  // sign-extend
        auto v = make(K::kInt);
        v->i = static_cast<int64_t>(raw);
        stack_.push_back(v);
      } break;
      case 'G': {  // BINFLOAT: big-endian double
        auto b = read_bytes(8);
        uint64_t raw = 0;
        for (char c : b) raw = (raw << 8) | static_cast<uint8_t>(c);
        auto v = make(K::kFloat);
        std::memcpy(&v->f, &raw, 8);
        stack_.push_back(v);
      } break;
      case 'X': case 0x8c: case 0x8d: case 'B': case 'C': {  // BINUNICODE(8), SHORT_BINUNICODE, (SHORT_)BINBYTES
        const size_t n = read_le(op == 0x8c || op == 'C' ? 1 : op == 0x8d ? 8 : 4);
        auto v = make(K::kStr);
        v->s = std::string(read_bytes(n));
        stack_.push_back(v);
      } break;
      case 'q': memo_put(read_le(1)); break;  // BINPUT
      case 'r': memo_put(read_le(4)); break;  // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
      case 'h': memo_get(read_le(1)); break;  // BINGET
      case 'j': memo_get(read_le(4)); break;  // LONG_BINGET
      case 'c': {  // GLOBAL "module\nname\n"
        auto v = make(K::kGlobal);
        std::string module = read_line();
        v->s = module + "." + read_line();
        stack_.push_back(v);
      } break;
      case 0x93: {  // STACK_GLOBAL
        auto name = expect(pop(), K::kStr, "STACK_GLOBAL name");
        auto module = expect(pop(), K::kStr, "STACK_GLOBAL module");
        auto v = make(K::kGlobal);
        v->s = module->s + "." + name->s;
        stack_.push_back(v);
      } break;
      case 't': {
        auto v = make(K::kTuple);
        v->items = pop_to_mark();
        stack_.push_back(v);
      } break;
      case 0x85: case 0x86: case 0x87: {  // TUPLE1..3
        auto v = make(K::kTuple);
        v->items.resize(op - 0x84);
        for (size_t k = v->items.size(); k-- > 0;) v->items[k] = pop();
        stack_.push_back(v);
      } break;
      case 'l': {
        auto v = make(K::kList);
        v->items = pop_to_mark();
        stack_.push_back(v);
      } break;
      case 'd': {
        auto v = make(K::kDict);
        add_items(v, pop_to_mark());
        stack_.push_back(v);
      } break;
      case 'a': {  // APPEND
        auto item = pop();
        add_items(top(), {item});
      } break;
      case 'e': case 'u': {  // APPENDS, SETITEMS
        auto items = pop_to_mark();
        add_items(top(), std::move(items));
      } break;
      case 's': {  // SETITEM
        auto value = pop();
        auto key = pop();
        add_items(top(), {key, value});
      } break;
      case '0': pop(); break;                      // POP
      case '1': pop_to_mark(); break;              // POP_MARK
      case '2': stack_.push_back(top()); break;    // DUP
      case 'R': case 0x81: {  // REDUCE, NEWOBJ: callable(*args)
        auto args = expect(pop(), K::kTuple, "call arguments");
        auto callable = expect(pop(), K::kGlobal, "called object");
        stack_.push_back(call(callable->s, args->items));
      } break;
      case 'b': {  // BUILD: obj.__setstate__(state). Only OrderedDict's `_metadata` comes here; drop it.
        pop();
        top();
      } break;
      case 'Q': stack_.push_back(persistent_load(expect(pop(), K::kTuple, "persistent id")->items)); break;
      default:
        bad(fmt::format("unsupported pickle opcode 0x{:02x} (expected what torch.save writes for a dict of tensors)",
                        op));
    }
  }

  // The only callables a state dict needs; anything else is refused (no code is ever run).
  Ref call(const std::string& name, const std::vector<Ref>& args) {
    using K = Value::Kind;
    if (name == "collections.OrderedDict") {
      if (!args.empty()) bad("OrderedDict(...) with arguments is not supported");
      return make(K::kDict);
    }
    if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor") {
      if (args.size() < 4) bad(fmt::format("{} with {} arguments, expected at least 4", name, args.size()));
      return rebuild_tensor(args);
    }
    // torch::pickle_save (C++) wraps containers in type tags: restore_type_tag(obj, "Dict[str, Tensor]"),
    // build_tensorlist([...]), ...; Python's torch.load drops them, and so do we.
    if (name == "torch.jit._pickle.restore_type_tag" || name == "torch.jit._pickle.build_tensorlist" ||
        name == "torch.jit._pickle.build_intlist" || name == "torch.jit._pickle.build_doublelist" ||
        name == "torch.jit._pickle.build_boollist") {
      if (args.empty()) bad(fmt::format("{} without arguments", name));
      return args[0];
    }
    if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
      if (args.empty()) bad(fmt::format("{} without arguments", name));
      return expect(args[0], K::kTensor, "parameter data");
    }
    bad(fmt::format("unsupported pickle global '{}' (expected a dict of tensors from torch.save)", name));
  }

  std::vector<int64_t> int_tuple(const Ref& v, const char* what) {
    expect(v, Value::Kind::kTuple, what);
    std::vector<int64_t> out;
    for (const auto& e : v->items) {
      expect(e, Value::Kind::kInt, what);
      if (e->i < 0) bad(fmt::format("{} holds {}, expected non-negative integers", what, e->i));
      out.push_back(e->i);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks, ...)
  Ref rebuild_tensor(const std::vector<Ref>& args) {
    auto storage = expect(args[0], Value::Kind::kStorage, "tensor storage");
    auto offset = expect(args[1], Value::Kind::kInt, "storage offset");
    auto sizes = int_tuple(args[2], "tensor size");
    auto strides = int_tuple(args[3], "tensor stride");
    if (sizes.size() != strides.size())
      bad(fmt::format("tensor has {} sizes but {} strides", sizes.size(), strides.size()));
    // The last element the view touches must lie inside the storage (as_strided does not check).
    const int64_t storage_numel = storage->tensor.numel();
    bool empty = false;
    unsigned __int128 last = static_cast<uint64_t>(offset->i < 0 ? 0 : offset->i);
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (sizes[d] == 0) empty = true;
      else last += static_cast<unsigned __int128>(sizes[d] - 1) * static_cast<uint64_t>(strides[d]);
    }
    if (offset->i < 0 || (!empty && last >= static_cast<unsigned __int128>(storage_numel)))
      bad(fmt::format("tensor view (offset {}, size [{}], stride [{}]) runs past its storage of {} elements", offset->i,
                      fmt::join(sizes, ", "), fmt::join(strides, ", "), storage_numel));
    auto v = make(Value::Kind::kTensor);
    v->tensor = empty ? at::empty(sizes, storage->tensor.options())
                      : storage->tensor.as_strided(sizes, strides, offset->i);
    return v;
  }

  // ('storage', torch.FloatStorage, key, location, numel): the bytes are zip record data/<key>.
  // Storages saved from CUDA ("cuda:0") are read to the CPU like any other.
  Ref persistent_load(const std::vector<Ref>& pid) {
    if (pid.size() != 5 || pid[0]->kind != Value::Kind::kStr || pid[0]->s != "storage")
      bad("persistent id is not ('storage', type, key, location, numel)");
    auto type = expect(pid[1], Value::Kind::kGlobal, "storage type");
    auto key = expect(pid[2], Value::Kind::kStr, "storage key");
    auto numel = expect(pid[4], Value::Kind::kInt, "storage numel");
    auto dtype = storage_dtype(type->s);
    if (!dtype) bad(fmt::format("unsupported storage type '{}'", type->s));
    if (numel->i < 0) bad(fmt::format("storage '{}' has {} elements", key->s, numel->i));
    auto v = make(Value::Kind::kStorage);
    const auto options = at::TensorOptions().dtype(*dtype);
    if (numel->i == 0) {
      v->tensor = at::empty({0}, options);
      return v;
    }
    const std::string record = "data/" + key->s;
    if (!zip_.hasRecord(record)) bad(fmt::format("storage record '{}' is missing from the archive", record));
    auto [data, bytes] = zip_.getRecord(record);
    const uint64_t need = static_cast<uint64_t>(numel->i) * c10::elementSize(*dtype);
    if (bytes < need)
      bad(fmt::format("storage record '{}' has {} bytes, expected {} ({} x {})", record, bytes, need, numel->i,
                      dtype_name(*dtype)));
    // Zero-copy: the tensor keeps the record's buffer alive.
    auto holder = std::make_shared<at::DataPtr>(std::move(data));
    v->tensor = at::from_blob(holder->get(), {numel->i}, [holder](void*) {}, options);
    return v;
  }

  std::string path_;
  std::string p_;
  caffe2::serialize::PyTorchStreamReader& zip_;
  size_t pos_ = 0, op_pos_ = 0;
  std::vector<Ref> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Ref> memo_;
};

// A dict of str -> float tensor, or a one-line error saying which entry is not.
TensorMap to_tensor_map(const std::string& path, const Ref& root) {
  if (root->kind != Value::Kind::kDict)
    fail("{}: data.pkl holds a {}, expected a dict of str -> tensor (a state dict)", path, kind_name(root->kind));
  TensorMap out;
  for (size_t k = 0; k < root->entries.size(); ++k) {
    const auto& [key, value] = root->entries[k];
    if (key->kind != Value::Kind::kStr)
      fail("{}: dict key #{} is a {}, expected a str (a state dict)", path, k, kind_name(key->kind));
    if (value->kind != Value::Kind::kTensor)
      fail("{}: key '{}' holds a {}, expected a tensor", path, key->s, kind_name(value->kind));
    const at::Tensor& t = value->tensor;
    if (!is_float_dtype(t.scalar_type()))
      fail("{}: key '{}' has dtype {}, expected float32, float16, bfloat16 or float64", path, key->s,
           dtype_name(t.scalar_type()));
    out.insert_or_assign(key->s, t.contiguous());
  }
  return out;
}

}  // namespace

TensorMap load_pth(const std::string& path) {
  check_zip_magic(path);
  try {
    // Reads records straight from the file, one at a time.
    caffe2::serialize::PyTorchStreamReader zip(path);
    if (zip.hasRecord("byteorder")) {
      auto [data, size] = zip.getRecord("byteorder");
      std::string order(static_cast<const char*>(data.get()), size);
      if (order != "little") fail("{}: record 'byteorder' says '{}', expected 'little'", path, order);
    }
    if (!zip.hasRecord("data.pkl")) fail("{}: the zip archive has no data.pkl: not a torch.save file", path);
    auto [data, size] = zip.getRecord("data.pkl");
    Unpickler unpickler(path, std::string(static_cast<const char*>(data.get()), size), zip);
    return to_tensor_map(path, unpickler.run());
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    fail("{}: cannot read the torch.save zip archive (truncated or corrupt?): {}", path,
         first_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    fail("{}: cannot read the torch.save zip archive (truncated or corrupt?): {}", path, first_line(e.what()));
  }
}

void save_pth(const std::string& path, const TensorMap& tensors) {
  std::string bytes;
  try {
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto& [key, t] : tensors) dict.insert(key, t.detach().cpu().contiguous());
    // torch::jit::pickle_save, but without its type tags (restore_type_tag(dict,
    // "Dict[str, Tensor]")): PyTorch >= 2.6's torch.load (weights_only=True by default)
    // refuses that global, so the file is written as torch.save writes a plain dict.
    std::string pickle;
    torch::jit::Pickler pickler([&](const char* data, size_t n) { pickle.append(data, n); }, nullptr, nullptr,
                                nullptr, nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(c10::IValue(dict));
    pickler.stop();
    caffe2::serialize::PyTorchStreamWriter zip([&](const void* data, size_t n) {
      bytes.append(static_cast<const char*>(data), n);
      return n;
    });
    torch::jit::writeArchiveAndTensors("data", pickle.data(), pickle.size(), pickler.tensorData(), zip);
    zip.writeEndOfFile();
  } catch (const c10::Error& e) {
    fail("{}: cannot serialize the tensors: {}", path, first_line(e.what_without_backtrace()));
  }
  write_file_atomic(path, bytes);
}

}  // namespace statetune::workers
