// The RWKV World tokenizer: golden parity with the reference TRIE_TOKENIZER, the vocab parser's
// error messages, and the UTF-8 stream decoder.
#include "statetune/data/tokenizer.h"

#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "test_paths.h"

namespace {

using statetune::data::Tokenizer;
using statetune::data::Utf8StreamDecoder;

constexpr const char* kVocab = "data/tokenizer/rwkv_vocab_v20230424.txt";
constexpr const char* kGolden = "fixtures/rwkv7-tiny/tokenizer.jsonl";

// A vocab file in a temp dir: the 256 single bytes (ids 1..256, as in the real file) on lines
// 1..256, then `extra` lines verbatim.
std::string write_vocab(const std::string& test, const std::string& extra) {
  const std::string path = statetune::testing::temp_dir(test) + "/vocab.txt";
  std::ofstream out(path, std::ios::binary);
  for (int b = 0; b < 256; ++b) out << fmt::format("{} b'\\x{:02x}' 1\n", b + 1, b);
  out << extra;
  return path;
}

// A small file holding only `lines` (for errors raised before the byte-coverage check).
std::string write_file(const std::string& test, const std::string& lines) {
  const std::string path = statetune::testing::temp_dir(test) + "/vocab.txt";
  std::ofstream(path, std::ios::binary) << lines;
  return path;
}

// Loads `path` expecting a statetune::Error; returns its message.
std::string load_error(const std::string& path) {
  try {
    Tokenizer::load(path);
  } catch (const statetune::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "loading " << path << " did not throw";
  return "";
}

void expect_line_error(const std::string& path, int line, const std::string& what) {
  const std::string message = load_error(path);
  EXPECT_NE(message.find(path + ":" + std::to_string(line) + ":"), std::string::npos) << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

TEST(Tokenizer, GoldenMatchesReference) {
  SHARED_OR_SKIP(vocab, kVocab);
  SHARED_OR_SKIP(golden, kGolden);
  const Tokenizer tok = Tokenizer::load(vocab);
  std::ifstream in(golden);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++n;
    const auto item = nlohmann::json::parse(line);
    const auto text = item.at("text").get<std::string>();
    const auto ids = item.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text), ids) << "line " << n << ": " << text;
    EXPECT_EQ(tok.decode(ids), text) << "line " << n;
  }
  EXPECT_EQ(n, 50);
}

TEST(Tokenizer, RealVocabShape) {
  SHARED_OR_SKIP(vocab, kVocab);
  const Tokenizer tok = Tokenizer::load(vocab);
  EXPECT_EQ(tok.vocab_size(), 65530);
  EXPECT_EQ(tok.token_bytes(Tokenizer::kEndOfText), "");
  for (int b = 0; b < 256; ++b) EXPECT_EQ(tok.token_bytes(b + 1), std::string(1, static_cast<char>(b)));
  EXPECT_EQ(tok.token_bytes(261), "\n\n");
  EXPECT_EQ(tok.token_bytes(65529), std::string(128, ' '));
  EXPECT_EQ(tok.decode({0, 33155, 0}), "Hello");
  EXPECT_TRUE(tok.encode("").empty());
}

TEST(Tokenizer, UnknownIdIsAnErrorNamingIt) {
  SHARED_OR_SKIP(vocab, kVocab);
  const Tokenizer tok = Tokenizer::load(vocab);
  for (const int32_t id : {65530, -1}) {
    try {
      tok.decode({33155, id});
      ADD_FAILURE() << "decode of id " << id << " did not throw";
    } catch (const statetune::Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::to_string(id)), std::string::npos) << e.what();
    }
  }
}

TEST(Tokenizer, GreedyLongestMatchAndEscapes) {
  const std::string path = write_vocab("tok_greedy",
                                       "257 'ab' 2\n"
                                       "258 'abc' 3\n"
                                       "259 'abcde' 5\n"
                                       "260 'a b' 3\n"       // a space inside the literal
                                       "261 \"it's\" 4\n"    // double-quoted str
                                       "262 '\\u72b6' 3\n"   // U+72B6 = E7 8A B6
                                       "263 'é\\U0001F642' 6\n"  // raw UTF-8 + \U escape
                                       "264 b'\\xe7\\x8a' 2\n"   // partial UTF-8 as bytes
                                       "265 '\\\\\\'\\t\\101' 4\n"  // \\ \' \t and octal \101 = 'A'
                                       "270 'zz' 2\n");        // ids need not be contiguous
  const Tokenizer tok = Tokenizer::load(path);
  EXPECT_EQ(tok.vocab_size(), 271);
  // "abcd": 'abcde' fails at the last byte, so the walk falls back to 'abc', then 'd'.
  EXPECT_EQ(tok.encode("abcd"), (std::vector<int32_t>{258, 'd' + 1}));
  EXPECT_EQ(tok.encode("abcdeab"), (std::vector<int32_t>{259, 257}));
  EXPECT_EQ(tok.encode("a bit's"), (std::vector<int32_t>{260, 261}));
  EXPECT_EQ(tok.encode("a bat"), (std::vector<int32_t>{260, 'a' + 1, 't' + 1}));
  EXPECT_EQ(tok.encode("it's"), (std::vector<int32_t>{261}));
  EXPECT_EQ(tok.encode("状"), (std::vector<int32_t>{262}));
  EXPECT_EQ(tok.encode("é🙂"), (std::vector<int32_t>{263}));
  EXPECT_EQ(tok.encode("\xe7\x8a"), (std::vector<int32_t>{264}));
  EXPECT_EQ(tok.encode("\\'\tA"), (std::vector<int32_t>{265}));
  EXPECT_EQ(tok.token_bytes(263), "\xc3\xa9\xf0\x9f\x99\x82");
  EXPECT_THROW(tok.token_bytes(266), statetune::Error);  // a gap in the ids
  EXPECT_EQ(tok.decode({257, 0, 262}), "ab状");
}

TEST(Tokenizer, MalformedLinesNameFileAndLine) {
  // Line 3 is the bad one in each file; the lines before it are fine.
  const std::string good = "1 'a' 1\n2 b'\\xff' 1\n";
  expect_line_error(write_file("tok_bad_escape", good + "3 'a\\qb' 3\n"), 3, "unknown escape \\q");
  expect_line_error(write_file("tok_bad_quote", good + "3 'ab 2\n"), 3, "bad literal");
  expect_line_error(write_file("tok_bad_hex", good + "3 '\\x4' 1\n"), 3, "hex digits");
  expect_line_error(write_file("tok_bad_surrogate", good + "3 '\\ud83d' 3\n"), 3, "surrogate");
  expect_line_error(write_file("tok_bad_bytes_u", good + "3 b'\\u0041' 1\n"), 3, "bytes literal");
  expect_line_error(write_file("tok_length_mismatch", good + "3 'ab' 3\n"), 3, "is 2 bytes but the line says 3");
  expect_line_error(write_file("tok_missing_length", good + "3 'ab'\n"), 3, "expected '<id> <python literal> <byte length>'");
  expect_line_error(write_file("tok_bad_length", good + "3 'ab' two\n"), 3, "bad byte length");
  expect_line_error(write_file("tok_bad_id", good + "x3 'ab' 2\n"), 3, "bad id \"x3\"");
  expect_line_error(write_file("tok_id_zero", good + "0 'ab' 2\n"), 3, "bad id \"0\"");
  expect_line_error(write_file("tok_dup_id", good + "2 'ab' 2\n"), 3, "duplicate id 2 (first on line 2)");
  expect_line_error(write_file("tok_crlf", good + "3 'ab' 2\r\n"), 3, "CR");
  expect_line_error(write_file("tok_empty_line", good + "\n4 'ab' 2\n"), 3, "expected '<id>");
  expect_line_error(write_vocab("tok_dup_bytes", "257 'ab' 2\n258 'ab' 2\n"), 258, "same bytes as id 257");
}

TEST(Tokenizer, FileLevelErrorsNameTheFile) {
  const std::string missing = statetune::testing::temp_dir("tok_missing") + "/nope.txt";
  EXPECT_NE(load_error(missing).find(missing), std::string::npos);
  // Byte 0x62 ('b') has no single-byte token: encoding could get stuck on it.
  const std::string path = write_file("tok_no_byte", "1 'a' 1\n");
  const std::string message = load_error(path);
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("0x00"), std::string::npos) << message;
}

TEST(Utf8StreamDecoder, CharacterSplitAcrossTokensComesOutWhole) {
  Utf8StreamDecoder dec;
  EXPECT_EQ(dec.push("a\xe7"), "a");  // 状 = E7 8A B6, split 1 + 1 + 1
  EXPECT_EQ(dec.push("\x8a"), "");
  EXPECT_EQ(dec.push("\xb6" "b"), "状b");
  EXPECT_EQ(dec.push("\xf0\x9f"), "");  // 🙂 = F0 9F 99 82, split 2 + 2
  EXPECT_EQ(dec.push("\x99\x82"), "🙂");
  EXPECT_EQ(dec.flush(), "");
}

TEST(Utf8StreamDecoder, InvalidBytesBecomeReplacementCharacters) {
  Utf8StreamDecoder dec;
  // 0xFF can never start a character: replaced at once instead of stalling the stream.
  EXPECT_EQ(dec.push("x\xff" "y"), "x\xEF\xBF\xBDy");
  // E7 followed by 'z' is broken: one U+FFFD for the E7, then the z.
  EXPECT_EQ(dec.push("\xe7z"), "\xEF\xBF\xBDz");
  // A truncated character at the end of the stream is one U+FFFD.
  EXPECT_EQ(dec.push("\xe7\x8a"), "");
  EXPECT_EQ(dec.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(dec.flush(), "");
}

TEST(Utf8StreamDecoder, TokenByTokenReproducesGoldenTexts) {
  SHARED_OR_SKIP(vocab, kVocab);
  SHARED_OR_SKIP(golden, kGolden);
  const Tokenizer tok = Tokenizer::load(vocab);
  std::ifstream in(golden);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto item = nlohmann::json::parse(line);
    Utf8StreamDecoder dec;
    std::string streamed;
    for (const int32_t id : item.at("ids").get<std::vector<int32_t>>()) {
      const std::string piece = dec.push(tok.token_bytes(id));
      // Every piece handed out is whole UTF-8: it round-trips through a fresh decoder unchanged.
      Utf8StreamDecoder check;
      std::string again = check.push(piece);
      again += check.flush();
      EXPECT_EQ(again, piece);
      streamed += piece;
    }
    streamed += dec.flush();
    EXPECT_EQ(streamed, item.at("text").get<std::string>());
  }
}

}  // namespace
