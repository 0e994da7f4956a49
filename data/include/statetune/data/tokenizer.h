#pragma once
// The RWKV World tokenizer (rwkv_vocab_v20230424.txt): greedy longest-prefix match over the
// UTF-8 bytes of the text. No normalisation, no pre-tokenisation, no merges (design RWKV7.md §4).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace statetune::data {

class Tokenizer {
 public:
  // Id 0 is not in the vocab file: it is the end-of-text / document separator; decodes to "".
  static constexpr int32_t kEndOfText = 0;

  // Reads a vocab file of lines "<id> <python str or bytes literal> <byte length>".
  // Throws statetune::Error "<path>:<line>: ..." on a malformed line (bad id or literal, length
  // mismatch, duplicate id or bytes, id 0), and one naming the file when it is missing or when a
  // single byte 0x00..0xFF has no token (encoding relies on every byte being a token).
  static Tokenizer load(const std::string& vocab_path);

  // Greedy longest match; always succeeds. Encode context and continuation separately when the
  // split point matters: tokens may span the join.
  std::vector<int32_t> encode(std::string_view utf8) const;
  // Concatenation of the tokens' bytes; may be invalid UTF-8 (a character split across tokens,
  // or cut by the end of ids). Throws statetune::Error naming an unknown id.
  std::string decode(const std::vector<int32_t>& ids) const;
  // The bytes of one token; throws statetune::Error naming an unknown id.
  const std::string& token_bytes(int32_t id) const;
  // Max id + 1 (65530 for the real file). The model's embedding may be larger (65536).
  int32_t vocab_size() const { return static_cast<int32_t>(bytes_.size()); }

 private:
  // Trie with sorted child arrays: node i's children are edges [first_edge, first_edge + edge_count)
  // of edge_byte_/edge_node_, sorted by byte. A node with all 256 children is indexed directly
  // (the root always is). About 17 bytes per node (116k nodes, ~2 MB for the real vocab) instead
  // of 1 KB per node for a 256-way table.
  struct Node {
    uint32_t first_edge = 0;
    uint16_t edge_count = 0;  // up to 256, so not uint8_t
    int32_t token = -1;       // id of the token ending here, -1 if none
  };

  Tokenizer() = default;
  uint32_t build_node(const std::vector<int32_t>& sorted_ids, size_t lo, size_t hi, size_t depth);
  static constexpr uint32_t kNoNode = UINT32_MAX;
  uint32_t child(uint32_t node, uint8_t byte) const;  // kNoNode if there is no such edge

  std::vector<std::string> bytes_;  // by id; "" for id 0 and for ids absent from the file
  std::vector<bool> known_;         // by id: id 0 or present in the file
  std::vector<Node> nodes_;         // nodes_[0] is the root
  std::vector<uint8_t> edge_byte_;
  std::vector<uint32_t> edge_node_;
};

// Turns a stream of token bytes into UTF-8 text for printing during generation: a character
// whose bytes are split across tokens is held back until it is complete.
class Utf8StreamDecoder {
 public:
  // Appends bytes and returns all text that is final: everything buffered except a trailing
  // incomplete (but so far valid) UTF-8 sequence, which is kept for the next push. Bytes that
  // can never become valid UTF-8 are replaced by U+FFFD at once rather than stalling the stream.
  std::string push(const std::string& bytes);
  // Returns the rest; an incomplete trailing sequence becomes U+FFFD. The decoder is then empty.
  std::string flush();

 private:
  std::string pending_;
};

}  // namespace statetune::data
