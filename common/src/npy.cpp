#include "statetune/common/npy.h"

#include <cstring>
#include <regex>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune {

void write_npy_f32(const std::string& path, const float* data, const std::vector<std::int64_t>& shape) {
  std::string dims;
  std::int64_t count = 1;
  for (auto d : shape) {
    dims += fmt::format("{}, ", d);
    count *= d;
  }
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  std::string header = fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}), }}", dims);
  // magic(6) + version(2) + len(2) + header + '\n' padded to a multiple of 64
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  std::uint16_t hlen = static_cast<std::uint16_t>(header.size());
  out.push_back(static_cast<char>(hlen & 0xff));
  out.push_back(static_cast<char>(hlen >> 8));
  out += header;
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * sizeof(float));
  write_file_atomic(path, out);
}

NpyArray read_npy(const std::string& path) {
  std::string bytes = read_file_bytes(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) fail("{}: not a .npy file (bad magic)", path);
  int major = static_cast<unsigned char>(bytes[6]);
  size_t hlen, off;
  if (major == 1) {
    hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    off = 10;
  } else {
    if (bytes.size() < 12) fail("{}: truncated .npy header", path);
    std::uint32_t h;
    std::memcpy(&h, bytes.data() + 8, 4);
    hlen = h;
    off = 12;
  }
  if (off + hlen > bytes.size()) fail("{}: truncated .npy header", path);
  std::string header = bytes.substr(off, hlen);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|]f[48])'")))
    fail("{}: unsupported dtype in header {} (expected '<f4' or '<f8')", path, header);
  bool f8 = m[1].str()[2] == '8';
  if (header.find("'fortran_order': False") == std::string::npos) fail("{}: fortran order is not supported", path);
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)"))) fail("{}: no shape in header", path);
  NpyArray arr;
  std::string dims = m[1].str();
  std::int64_t count = 1;
  const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    arr.shape.push_back(std::stoll(it->str()));
    count *= arr.shape.back();
  }
  size_t elem = f8 ? 8 : 4;
  size_t data_off = off + hlen;
  if (data_off + static_cast<size_t>(count) * elem > bytes.size()) fail("{}: truncated data", path);
  arr.values.resize(static_cast<size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) {
    if (f8) {
      double v;
      std::memcpy(&v, bytes.data() + data_off + i * 8, 8);
      arr.values[i] = v;
    } else {
      float v;
      std::memcpy(&v, bytes.data() + data_off + i * 4, 4);
      arr.values[i] = v;
    }
  }
  return arr;
}

}  // namespace statetune
