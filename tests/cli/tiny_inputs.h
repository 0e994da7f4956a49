#pragma once
// The small inputs the end-to-end tests build their runs from: a byte-level vocabulary (token
// b+1 is byte b, so any text encodes and no download is needed), "plus one" JSONL examples,
// a tiny random model and ARC records in the upstream JSONL form.
#include <fstream>
#include <string>

#include <fmt/format.h>

namespace statetune::testing {

// Writes the 256 single-byte tokens in the RWKV vocabulary format to `path`.
inline void write_byte_vocab(const std::string& path) {
  std::ofstream vocab(path, std::ios::binary);
  for (int b = 0; b < 256; ++b) vocab << fmt::format("{} b'\\x{:02x}' 1\n", b + 1, b);
}

// `lines` JSONL examples "Q<i>: <i> plus one?" -> " <i+1>", to `path`.
inline void write_plus_one_examples(const std::string& path, int lines) {
  std::ofstream data(path);
  for (int i = 0; i < lines; ++i)
    data << fmt::format(R"({{"context": "Q{}: {} plus one?", "target": " {}"}})", i, i, i + 1) << "\n";
}

// `statetune` arguments that write the tiny model the end-to-end tests tune (2 layers, C 32,
// heads of 16, a vocabulary of 300 that holds the byte vocabulary) to `out`.
inline std::string tiny_model_args(const std::string& out) {
  return fmt::format("init-model --layers 2 --dim 32 --head-size 16 --vocab 300 --seed 1 --out {}", out);
}

// One ARC record in the upstream form, item i (answer B).
inline std::string arc_line(int i) {
  const std::string n = std::to_string(i);
  return R"({"id": "q)" + n + R"(", "question": {"stem": "Which gas do plants take in )" + n +
         R"(?", "choices": [{"text": "oxygen", "label": "A"}, {"text": "carbon dioxide", "label": "B"}, )"
         R"({"text": "neon", "label": "C"}]}, "answerKey": "B"})";
}

}  // namespace statetune::testing
