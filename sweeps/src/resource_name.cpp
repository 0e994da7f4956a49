#include "statetune/sweeps/resource_name.h"

#include <array>

namespace statetune::sweeps {

bool looks_like_resource_name(std::string_view text) {
  if (text.empty() || text.find('-') == std::string_view::npos) return false;
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  static constexpr std::array<std::string_view, 8> kFileExtensions{".pth",  ".safetensors", ".txt", ".json",
                                                                    ".jsonl", ".csv",         ".yaml", ".h5"};
  for (const std::string_view ext : kFileExtensions)
    if (text.size() > ext.size() && text.substr(text.size() - ext.size()) == ext) return false;
  return true;
}

}  // namespace statetune::sweeps
