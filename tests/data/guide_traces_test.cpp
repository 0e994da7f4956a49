// Guide-trace files: round trip through guide_trace_line, lookup by id, and one error per way a
// file can be wrong, each naming the file and line.
#include "statetune/data/guide_traces.h"

#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "expect_error.h"
#include "test_paths.h"

namespace {

using statetune::data::GuideTrace;
using statetune::data::GuideTraces;
using statetune::data::Tokenizer;
using statetune::testing::expect_error;

// The 256 single bytes as ids 1..256, plus "ab" (257) and " the" (258): enough for the
// encoding of a text to differ from its bytes.
const Tokenizer& tokenizer() {
  static const Tokenizer tok = [] {
    const std::string path = statetune::testing::temp_dir("guide_traces_vocab") + "/vocab.txt";
    std::ofstream out(path, std::ios::binary);
    for (int b = 0; b < 256; ++b) out << fmt::format("{} b'\\x{:02x}' 1\n", b + 1, b);
    out << "257 b'ab' 2\n258 ' the' 4\n";
    out.close();
    return Tokenizer::load(path);
  }();
  return tok;
}

std::string write_traces(const std::string& test, const std::vector<std::string>& lines) {
  const std::string path = statetune::testing::temp_dir("guide_traces_" + test) + "/traces.jsonl";
  std::ofstream out(path, std::ios::binary);
  for (const std::string& line : lines) out << line << "\n";
  return path;
}

// A trace of `text` with a two-entry top list per token: the token itself and token 1.
GuideTrace trace_of(const std::string& id, const std::string& text) {
  GuideTrace t;
  t.id = id;
  t.text = text;
  t.guide = "big-guide";
  t.tokens = tokenizer().encode(text);
  t.has_logprobs = true;
  for (int32_t token : t.tokens) t.top_logprobs.push_back({{token, -0.25}, {token == 1 ? 2 : 1, -2.5}});
  return t;
}

// A line whose logprobs field is `logprobs` verbatim.
std::string line_with(const std::string& text, const std::string& logprobs) {
  return fmt::format(R"({{"id": "x", "text": "{}", "logprobs": {}}})", text, logprobs);
}

void expect_read_error(const std::vector<std::string>& lines, int line, const std::string& what) {
  const std::string path = write_traces("error", lines);
  expect_error([&] { statetune::data::read_guide_traces(path, tokenizer()); }, fmt::format("{}:{}: ", path, line));
  expect_error([&] { statetune::data::read_guide_traces(path, tokenizer()); }, what);
}

TEST(GuideTraces, RoundTripThroughTheWrittenLine) {
  GuideTrace plain;
  plain.id = "q2";
  plain.text = "no log-probs here, just \"text\"\nover two lines";
  GuideTrace empty = trace_of("q3", "");
  const std::string path = write_traces(
      "round_trip", {guide_trace_line(trace_of("q1", "abc the ab")), "", guide_trace_line(plain), guide_trace_line(empty)});

  const auto traces = statetune::data::read_guide_traces(path, tokenizer());
  ASSERT_EQ(traces.size(), 3u);  // the blank line is not a record
  const GuideTrace& a = traces[0];
  EXPECT_EQ(a.id, "q1");
  EXPECT_EQ(a.guide, "big-guide");
  EXPECT_EQ(a.text, "abc the ab");
  EXPECT_EQ(a.tokens, (std::vector<int32_t>{257, 'c' + 1, 258, ' ' + 1, 257}));
  ASSERT_TRUE(a.has_logprobs);
  ASSERT_EQ(a.top_logprobs.size(), 5u);
  EXPECT_EQ(a.top_logprobs[2], (std::vector<std::pair<int32_t, double>>{{258, -0.25}, {1, -2.5}}));
  EXPECT_EQ(a.source, path + ":1");

  EXPECT_EQ(traces[1].text, plain.text);
  EXPECT_EQ(traces[1].guide, "");
  EXPECT_FALSE(traces[1].has_logprobs);
  EXPECT_EQ(traces[1].tokens, tokenizer().encode(plain.text)) << "tokens are filled without logprobs too";
  EXPECT_EQ(traces[1].source, path + ":3");
  EXPECT_TRUE(traces[2].has_logprobs);
  EXPECT_TRUE(traces[2].tokens.empty());

  // The line itself: fields in a fixed order, guide and logprobs only when present.
  EXPECT_EQ(guide_trace_line(plain), R"({"id":"q2","text":"no log-probs here, just \"text\"\nover two lines"})");
  EXPECT_EQ(guide_trace_line(trace_of("q", "ab")),
            R"({"id":"q","guide":"big-guide","text":"ab","logprobs":{"tokens":[257],"top_logprobs":[[[257,-0.25],[1,-2.5]]]}})");
}

TEST(GuideTraces, LookupByIdNamesTheFileForAMissingOne) {
  const std::string path =
      write_traces("lookup", {guide_trace_line(trace_of("q1", "ab")), guide_trace_line(trace_of("q2", "the"))});
  const GuideTraces traces = GuideTraces::load(path, tokenizer());
  EXPECT_EQ(traces.size(), 2u);
  EXPECT_EQ(traces.path(), path);
  EXPECT_EQ(traces.at("q2").text, "the");
  EXPECT_EQ(traces.find("q1")->tokens, (std::vector<int32_t>{257}));
  EXPECT_EQ(traces.find("q9"), nullptr);
  expect_error([&] { traces.at("q9"); }, path + ": no trace for example 'q9'");
}

TEST(GuideTraces, MalformedLinesNameFileAndLine) {
  const std::string ok = R"({"id": "ok", "text": "fine"})";
  expect_read_error({ok, "{not json"}, 2, "not valid JSON");
  expect_read_error({ok, "[1, 2]"}, 2, "expected a JSON object, got array");
  expect_read_error({R"({"text": "t"})"}, 1, "missing field \"id\"");
  expect_read_error({R"({"id": 3, "text": "t"})"}, 1, "field \"id\" must be a string");
  expect_read_error({R"({"id": "q", "text": "t"})", ok, R"({"id": "q", "text": "u"})"}, 3,
                    "duplicate id \"q\" (first on line 1)");
  expect_read_error({R"({"id": "q"})"}, 1, "missing field \"text\"");
  expect_read_error({R"({"id": "q", "text": "t", "guide": 7})"}, 1, "field \"guide\" must be a string");
  expect_read_error({R"({"id": "q", "text": "t", "logprobs": [1]})"}, 1, "field \"logprobs\" must be an object");
  expect_read_error({line_with("ab", R"({"tokens": [257]})")}, 1, "missing field \"logprobs.top_logprobs\"");
}

TEST(GuideTraces, LogprobsMustMatchTheTokenizersEncoding) {
  // Lengths: one top list per token.
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": []})")}, 1,
                    "logprobs has 1 tokens but 0 top_logprobs lists");
  // "ab" is one token here; a tokenizer without "ab" would have given two.
  expect_read_error({line_with("ab", R"({"tokens": [98, 99], "top_logprobs": [[[98, -1]], [[99, -1]]]})")}, 1,
                    "(first difference at token 0: the file has 98, the tokenizer gives 257); was it made with "
                    "another tokenizer?");
  expect_read_error({line_with("ab", R"({"tokens": [257, 1], "top_logprobs": [[[257, -1]], [[1, -1]]]})")}, 1,
                    "(the file has 2 tokens, the tokenizer gives 1)");
  expect_read_error({line_with("xab", R"({"tokens": [121, 258], "top_logprobs": [[[1, -1]], [[1, -1]]]})")}, 1,
                    "first difference at token 1: the file has 258, the tokenizer gives 257");
  expect_read_error({line_with("ab", R"({"tokens": [65000], "top_logprobs": [[[1, -1]]]})")}, 1,
                    "logprobs.tokens[0] is token id 65000, which is not in the vocabulary (ids 0..258)");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, -1], [-3, -2]]]})")}, 1,
                    "logprobs.top_logprobs[0][1][0] is token id -3, which is not in the vocabulary");
  expect_read_error({line_with("ab", R"({"tokens": ["ab"], "top_logprobs": [[[1, -1]]]})")}, 1,
                    "logprobs.tokens[0] must be an integer token id, got string");
}

TEST(GuideTraces, LogprobsMustBeFiniteAndAtMostZero) {
  const std::string ok = R"({"id": "ok", "text": "fine"})";
  expect_read_error({ok, line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, 0.5]]]})")}, 2,
                    "logprobs.top_logprobs[0][0] has log-prob 0.5 > 0");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, null]]]})")}, 1,
                    "logprobs.top_logprobs[0][0][1] must be a number (a log-prob), got null");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, NaN]]]})")}, 1,
                    "NaN and Infinity are not JSON numbers, and log-probs must be finite");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, -Infinity]]]})")}, 1,
                    "log-probs must be finite");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, -1e999]]]})")}, 1,
                    "not valid JSON (number overflow");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[]]})")}, 1,
                    "logprobs.top_logprobs[0] is empty");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, -0.1], [257, -3]]]})")}, 1,
                    "logprobs.top_logprobs[0][1] repeats token id 257");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257, -0.1], [1, -0.2]]]})")}, 1,
                    "the probabilities of logprobs.top_logprobs[0] add up to 1.723");
  expect_read_error({line_with("ab", R"({"tokens": [257], "top_logprobs": [[[257]]]})")}, 1,
                    "logprobs.top_logprobs[0][0] must be an [id, log-prob] pair");
}

TEST(GuideTraces, MissingFileAndUnwritableTraces) {
  expect_error([] { statetune::data::read_guide_traces("/nonexistent/traces.jsonl", tokenizer()); },
               "/nonexistent/traces.jsonl: cannot open the guide-trace file");
  GuideTrace t = trace_of("q", "ab");
  t.top_logprobs.pop_back();
  expect_error([&] { guide_trace_line(t); }, "guide trace \"q\": 1 tokens but 0 top_logprobs lists");
  GuideTrace bad_utf8;
  bad_utf8.id = "u";
  bad_utf8.text = "\xff";
  expect_error([&] { guide_trace_line(bad_utf8); }, "guide trace \"u\": id, guide or text is not valid UTF-8");
}

TEST(GuideTraces, RealVocabRoundTrip) {
  SHARED_OR_SKIP(vocab, "data/tokenizer/rwkv_vocab_v20230424.txt");
  const Tokenizer tok = Tokenizer::load(vocab);
  GuideTrace t;
  t.id = "Mercury_7175875";
  t.text = " Plants take in carbon dioxide for photosynthesis, so the answer is B. 植物";
  t.tokens = tok.encode(t.text);
  t.has_logprobs = true;
  for (int32_t token : t.tokens) t.top_logprobs.push_back({{token, -0.1}, {token == 11 ? 12 : 11, -3.0}});
  const std::string path = write_traces("real_vocab", {guide_trace_line(t)});
  const auto traces = statetune::data::read_guide_traces(path, tok);
  ASSERT_EQ(traces.size(), 1u);
  EXPECT_EQ(traces[0].tokens, t.tokens);
  EXPECT_EQ(traces[0].text, t.text);
  // The byte-level vocabulary encodes the same text differently: refused.
  const std::string bytes_path = write_traces("real_vocab_bytes", {guide_trace_line(trace_of("q", "ab the"))});
  expect_error([&] { statetune::data::read_guide_traces(bytes_path, tok); }, "was it made with another tokenizer?");
}

}  // namespace
