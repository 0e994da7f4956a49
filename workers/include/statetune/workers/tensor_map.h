#pragma once
// A checkpoint's tensors by their official BlinkDL key names ("blocks.0.att.w1", ...).
#include <map>
#include <string>

#include <ATen/ATen.h>

namespace statetune::workers {

using TensorMap = std::map<std::string, at::Tensor>;

}  // namespace statetune::workers
