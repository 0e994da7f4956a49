#include "statetune/orchestrator/text_input.h"

#include <CLI/CLI.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune::orchestrator {

void add_text_input_options(CLI::App& sub, TextInput& input, bool with_tokens) {
  auto* group = sub.add_option_group("input", "What to read (exactly one)");
  group->add_option("--text", input.text, "The text itself");
  group->add_option("--text-file", input.text_file, "A UTF-8 text file")->check(CLI::ExistingFile);
  if (with_tokens) group->add_option("--tokens", input.tokens, "Comma-separated token ids, used exactly as given");
  group->require_option(1);
}

std::string read_text_input(const TextInput& input) {
  if (!input.text_file.empty()) return read_file_bytes(input.text_file);
  return input.text;
}

std::vector<int64_t> parse_token_list(const std::string& list) {
  std::vector<int64_t> ids;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || value < 0)
      fail("--tokens: '{}' is not a non-negative integer (expected a list like 0,510,3,4)", item);
    ids.push_back(value);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return ids;
}

std::string printable_token(const std::string& bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

}  // namespace statetune::orchestrator
