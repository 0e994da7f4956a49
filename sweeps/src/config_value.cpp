#include "statetune/sweeps/config_value.h"

#include <fmt/format.h>

namespace statetune::sweeps {

const Value* ConfigValues::find(const std::string& key) const {
  const auto it = entries.find(key);
  return it == entries.end() ? nullptr : &it->second.value;
}

const std::string& ConfigValues::where(const std::string& key) const {
  const auto it = entries.find(key);
  return it == entries.end() || it->second.where.empty() ? source : it->second.where;
}

std::string format_value(const Value& value) {
  struct Formatter {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t i) const { return fmt::format("{}", i); }
    // fmt's "{}" is the shortest text that reads back as the same double.
    std::string operator()(double d) const { return fmt::format("{}", d == 0.0 ? 0.0 : d); }
    std::string operator()(const std::string& s) const { return s; }
  };
  return std::visit(Formatter{}, value);
}

std::string yaml_quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
        } else {
          out += c;  // UTF-8 bytes pass through; YAML double-quoted scalars allow them
        }
    }
  }
  return out + "\"";
}

}  // namespace statetune::sweeps
