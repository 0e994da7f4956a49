#pragma once
// NumPy .npy (format 1.0) for float32 / float64 arrays, C order, little-endian.
#include <cstdint>
#include <string>
#include <vector>

namespace statetune {

struct NpyArray {
  std::vector<std::int64_t> shape;
  std::vector<double> values;  // converted from the file's dtype ('<f4' or '<f8')
};

void write_npy_f32(const std::string& path, const float* data, const std::vector<std::int64_t>& shape);
NpyArray read_npy(const std::string& path);

}  // namespace statetune
