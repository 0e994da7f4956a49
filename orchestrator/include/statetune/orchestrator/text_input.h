#pragma once
// The shared "--text STR | --text-file F | --tokens 1,2,3" inputs of score/tokenize.
#include <cstdint>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace statetune::orchestrator {

struct TextInput {
  std::string text;
  std::string text_file;
  std::string tokens;  // "1,2,3"
};

// Adds the options as a mutually exclusive group, exactly one required.
void add_text_input_options(CLI::App& sub, TextInput& input, bool with_tokens);
// The text from --text or --text-file (the file read as UTF-8 bytes).
std::string read_text_input(const TextInput& input);
// Parses "1,2,3" into ids; errors name the bad item.
std::vector<int64_t> parse_token_list(const std::string& list);
// Renders a token's bytes for a terminal: printable as is, control bytes escaped.
std::string printable_token(const std::string& bytes);

}  // namespace statetune::orchestrator
