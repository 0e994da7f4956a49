#pragma once
// "[2, 64, 64]": tensor shapes in error messages.
#include <string>

#include <c10/util/ArrayRef.h>

namespace statetune {

inline std::string shape_str(c10::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace statetune
