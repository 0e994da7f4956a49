#include "statetune/data/tokenizer.h"

#include <algorithm>
#include <charconv>

#include "python_literal.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune::data {

namespace {

// Ids index flat tables, so a corrupt huge id would allocate gigabytes; real RWKV vocabs are
// far below this.
constexpr int64_t kMaxId = 1 << 20;

// A line as shown in error messages: long lines are cut so the message stays readable.
std::string shown(std::string_view line) {
  constexpr size_t kMax = 80;
  return line.size() <= kMax ? std::string(line) : std::string(line.substr(0, kMax)) + "...";
}

// Digits only (no sign, no spaces); -1 when not a number or above `max`.
int64_t parse_count(std::string_view text, int64_t max) {
  if (text.empty() || text[0] < '0' || text[0] > '9') return -1;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return -1;
  return value;
}

// Appends the text of `in` that is final to `out` (invalid parts as U+FFFD) and returns how many
// bytes it consumed; a trailing incomplete sequence is left unless `final`.
size_t decode_utf8(std::string_view in, bool final, std::string& out) {
  size_t pos = 0;
  while (pos < in.size()) {
    const detail::Utf8Step step = detail::utf8_step(in, pos);
    if (step.status == detail::Utf8Status::kValid) {
      out.append(in.substr(pos, step.length));
    } else if (step.status == detail::Utf8Status::kIncomplete && !final) {
      break;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
    }
    pos += step.length;
  }
  return pos;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& vocab_path) {
  const std::string text = read_file_bytes(vocab_path);  // throws naming the path
  Tokenizer tok;
  std::vector<int32_t> line_of_id;  // 0 = id not seen yet

  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_no;

    if (!line.empty() && line.back() == '\r') {
      fail("{}:{}: line ends with CR; expected LF line endings (the RWKV-v5 copy of the vocab is CRLF)",
           vocab_path, line_no);
    }
    // id = before the first space, length = after the last one; the literal may hold spaces.
    const size_t first = line.find(' ');
    const size_t last = line.rfind(' ');
    if (first == std::string_view::npos || first == last) {
      fail("{}:{}: expected '<id> <python literal> <byte length>', got \"{}\"", vocab_path, line_no,
           shown(line));
    }
    const std::string_view id_text = line.substr(0, first);
    const std::string_view literal = line.substr(first + 1, last - first - 1);
    const std::string_view length_text = line.substr(last + 1);

    const int64_t id = parse_count(id_text, kMaxId);
    if (id < 1) {
      fail("{}:{}: bad id \"{}\"; expected an integer 1..{} (0 is end-of-text, not in the file)",
           vocab_path, line_no, shown(id_text), kMaxId);
    }
    const int64_t length = parse_count(length_text, kMaxId);
    if (length < 0) {
      fail("{}:{}: bad byte length \"{}\"; expected a non-negative integer", vocab_path, line_no,
           shown(length_text));
    }
    std::string bytes;
    try {
      bytes = detail::decode_python_literal(literal);
    } catch (const Error& e) {
      fail("{}:{}: bad literal {}: {}; expected a Python str or bytes literal as repr() writes it",
           vocab_path, line_no, shown(literal), e.what());
    }
    if (static_cast<int64_t>(bytes.size()) != length) {
      fail("{}:{}: literal {} is {} bytes but the line says {}", vocab_path, line_no, shown(literal),
           bytes.size(), length);
    }
    if (bytes.empty()) fail("{}:{}: empty token; every token needs at least one byte", vocab_path, line_no);

    const auto index = static_cast<size_t>(id);
    if (index >= tok.bytes_.size()) {
      tok.bytes_.resize(index + 1);
      tok.known_.resize(index + 1, false);
      line_of_id.resize(index + 1, 0);
    }
    if (line_of_id[index] != 0) {
      fail("{}:{}: duplicate id {} (first on line {})", vocab_path, line_no, id, line_of_id[index]);
    }
    line_of_id[index] = static_cast<int32_t>(line_no);
    tok.bytes_[index] = std::move(bytes);
    tok.known_[index] = true;
  }
  if (tok.bytes_.empty()) {  // id 0 exists even in an empty file
    tok.bytes_.resize(1);
    tok.known_.resize(1);
  }
  tok.known_[kEndOfText] = true;

  // Sort the ids by their bytes: the trie is built from sorted ranges, and equal neighbours are
  // duplicate tokens, which would make greedy encoding ambiguous.
  std::vector<int32_t> sorted;
  for (int32_t id = 1; id < tok.vocab_size(); ++id) {
    if (tok.known_[id]) sorted.push_back(id);
  }
  std::sort(sorted.begin(), sorted.end(),
            [&](int32_t a, int32_t b) { return tok.bytes_[a] < tok.bytes_[b]; });
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (tok.bytes_[sorted[i]] == tok.bytes_[sorted[i - 1]]) {
      const int32_t a = std::min(sorted[i], sorted[i - 1]), b = std::max(sorted[i], sorted[i - 1]);
      fail("{}:{}: id {} has the same bytes as id {} on line {}; tokens must be unique", vocab_path,
           line_of_id[b], b, a, line_of_id[a]);
    }
  }
  tok.build_node(sorted, 0, sorted.size(), 0);
  tok.nodes_.shrink_to_fit();
  tok.edge_byte_.shrink_to_fit();
  tok.edge_node_.shrink_to_fit();

  // encode() relies on every byte starting some token (so it can always advance).
  for (int b = 0; b < 256; ++b) {
    const uint32_t node = tok.child(0, static_cast<uint8_t>(b));
    if (node == kNoNode || tok.nodes_[node].token < 0) {
      fail("{}: no token for the single byte 0x{:02X}; every byte 0x00..0xFF must be a token", vocab_path, b);
    }
  }
  return tok;
}

// Builds the node for the common prefix (length `depth`) of the ids sorted[lo, hi), which are
// sorted by bytes, and returns its index.
uint32_t Tokenizer::build_node(const std::vector<int32_t>& sorted, size_t lo, size_t hi, size_t depth) {
  const auto index = static_cast<uint32_t>(nodes_.size());
  nodes_.emplace_back();  // no references kept: recursion below reallocates nodes_
  // A token equal to the prefix itself sorts first in its range.
  if (lo < hi && bytes_[sorted[lo]].size() == depth) nodes_[index].token = sorted[lo++];

  auto byte_at = [&](size_t i) { return static_cast<uint8_t>(bytes_[sorted[i]][depth]); };
  // One edge per distinct next byte; the children's edges must be contiguous, so they are all
  // added before any child subtree is built.
  const auto first_edge = static_cast<uint32_t>(edge_byte_.size());
  for (size_t i = lo; i < hi; ++i) {
    if (i == lo || byte_at(i) != byte_at(i - 1)) {
      edge_byte_.push_back(byte_at(i));
      edge_node_.push_back(kNoNode);
    }
  }
  nodes_[index].first_edge = first_edge;
  nodes_[index].edge_count = static_cast<uint16_t>(edge_byte_.size() - first_edge);

  uint32_t edge = first_edge;
  for (size_t begin = lo, i = lo + 1; begin < hi; ++i) {
    if (i == hi || byte_at(i) != byte_at(begin)) {
      const uint32_t child_index = build_node(sorted, begin, i, depth + 1);
      edge_node_[edge++] = child_index;
      begin = i;
    }
  }
  return index;
}

uint32_t Tokenizer::child(uint32_t node, uint8_t byte) const {
  const Node& n = nodes_[node];
  if (n.edge_count == 256) return edge_node_[n.first_edge + byte];  // full fan-out: index directly
  const uint8_t* begin = edge_byte_.data() + n.first_edge;
  const uint8_t* end = begin + n.edge_count;
  const uint8_t* it = std::lower_bound(begin, end, byte);
  if (it == end || *it != byte) return kNoNode;
  return edge_node_[static_cast<size_t>(it - edge_byte_.data())];
}

std::vector<int32_t> Tokenizer::encode(std::string_view utf8) const {
  const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
  const size_t n = utf8.size();
  std::vector<int32_t> ids;
  ids.reserve(n / 3 + 1);  // typical text averages more than 3 bytes a token
  for (size_t p = 0; p < n;) {
    // Walk as deep as the text allows, remembering the last node that ends a token.
    int32_t best_id = -1;
    size_t best_len = 0;
    uint32_t node = 0;
    for (size_t q = p; q < n; ++q) {
      node = child(node, s[q]);
      if (node == kNoNode) break;
      if (nodes_[node].token >= 0) {
        best_id = nodes_[node].token;
        best_len = q - p + 1;
      }
    }
    // best_len >= 1: load() checked that every single byte is a token.
    ids.push_back(best_id);
    p += best_len;
  }
  return ids;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= vocab_size() || !known_[static_cast<size_t>(id)]) {
    fail("unknown token id {}; the vocab has ids 0..{}", id, vocab_size() - 1);
  }
  return bytes_[static_cast<size_t>(id)];
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (const int32_t id : ids) out += token_bytes(id);
  return out;
}

std::string Utf8StreamDecoder::push(const std::string& bytes) {
  pending_ += bytes;
  std::string out;
  pending_.erase(0, decode_utf8(pending_, /*final=*/false, out));
  return out;
}

std::string Utf8StreamDecoder::flush() {
  std::string out;
  decode_utf8(pending_, /*final=*/true, out);
  pending_.clear();
  return out;
}

}  // namespace statetune::data
