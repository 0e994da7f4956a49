#include "statetune/data/guide_traces.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "record_reading.h"
#include "statetune/common/error.h"

namespace statetune::data {

namespace {

// Rounding in whoever wrote the file (float32 soft-max, printed decimals) may push the mass of
// a full distribution a little over 1; more than this is not a top-k of one distribution.
constexpr double kMassTolerance = 1e-3;

bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

// nlohmann's messages start with "[json.exception.<kind>.<n>] "; users need only the rest.
std::string json_message(const nlohmann::json::exception& e) {
  const std::string what = e.what();
  const size_t end = what.find("] ");
  return end == std::string::npos ? what : what.substr(end + 2);
}

// Python's json.dumps writes non-finite floats as NaN / Infinity / -Infinity, which JSON does
// not have; a parse error at one of those deserves a message about log-probs, not syntax.
bool non_finite_literal_at(const std::string& line, size_t byte) {
  for (size_t back : {1, 2}) {
    if (byte < back) continue;
    const std::string rest = line.substr(byte - back, 9);
    if (rest.rfind("NaN", 0) == 0 || rest.rfind("Infinity", 0) == 0 || rest.rfind("-Infinity", 0) == 0) return true;
  }
  return false;
}

const nlohmann::json& json_array(const nlohmann::json& parent, const char* key, const std::string& where) {
  auto it = parent.find(key);
  if (it == parent.end()) fail("{}: missing field \"logprobs.{}\"", where, key);
  if (!it->is_array()) fail("{}: field \"logprobs.{}\" must be an array, got {}", where, key, it->type_name());
  return *it;
}

// A token id in the tokenizer's vocabulary; `what` says where it is ("logprobs.tokens[3]").
int32_t vocab_id(const nlohmann::json& value, const Tokenizer& tokenizer, const std::string& where,
                 const std::string& what) {
  if (!value.is_number_integer()) fail("{}: {} must be an integer token id, got {}", where, what, value.type_name());
  const auto id = value.get<int64_t>();
  bool known = id >= 0 && id < tokenizer.vocab_size();
  if (known) {
    try {
      tokenizer.token_bytes(static_cast<int32_t>(id));
    } catch (const Error&) {
      known = false;  // a gap in the vocab file's ids
    }
  }
  if (!known) fail("{}: {} is token id {}, which is not in the vocabulary (ids 0..{})", where, what, id,
                   tokenizer.vocab_size() - 1);
  return static_cast<int32_t>(id);
}

void check_tokens_match(const std::vector<int32_t>& file, const std::vector<int32_t>& encoded,
                        const std::string& where) {
  if (file == encoded) return;
  const size_t n = std::min(file.size(), encoded.size());
  size_t first = 0;
  while (first < n && file[first] == encoded[first]) ++first;
  const std::string detail =
      first < n ? fmt::format("first difference at token {}: the file has {}, the tokenizer gives {}", first,
                              file[first], encoded[first])
                : fmt::format("the file has {} tokens, the tokenizer gives {}", file.size(), encoded.size());
  fail("{}: logprobs.tokens are not the tokenizer's encoding of text ({}); was it made with another tokenizer?",
       where, detail);
}

std::vector<std::pair<int32_t, double>> parse_top_list(const nlohmann::json& list, size_t token,
                                                       const Tokenizer& tokenizer, const std::string& where) {
  const std::string at = fmt::format("logprobs.top_logprobs[{}]", token);
  if (!list.is_array()) fail("{}: {} must be an array of [id, log-prob] pairs, got {}", where, at, list.type_name());
  if (list.empty()) fail("{}: {} is empty (token {} has no log-probs)", where, at, token);
  std::vector<std::pair<int32_t, double>> out;
  std::unordered_set<int32_t> seen;
  double mass = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const nlohmann::json& pair = list[i];
    const std::string here = fmt::format("{}[{}]", at, i);
    if (!pair.is_array() || pair.size() != 2) fail("{}: {} must be an [id, log-prob] pair", where, here);
    const int32_t id = vocab_id(pair[0], tokenizer, where, here + "[0]");
    if (!pair[1].is_number()) fail("{}: {} must be a number (a log-prob), got {}", where, here + "[1]", pair[1].type_name());
    const auto logprob = pair[1].get<double>();
    if (!std::isfinite(logprob)) fail("{}: {} is {}, not a finite log-prob", where, here, logprob);
    if (logprob > 0) fail("{}: {} has log-prob {} > 0 (a probability above 1)", where, here, logprob);
    if (!seen.insert(id).second) fail("{}: {} repeats token id {}", where, here, id);
    mass += std::exp(logprob);
    out.emplace_back(id, logprob);
  }
  if (mass > 1 + kMassTolerance)
    fail("{}: the probabilities of {} add up to {:.6f} > 1: not the top of one distribution", where, at, mass);
  return out;
}

GuideTrace parse_trace(const nlohmann::json& object, const Tokenizer& tokenizer, const std::string& where) {
  GuideTrace t;
  t.source = where;
  t.id = detail::json_string(object, "id", where);
  if (t.id.empty()) fail("{}: field \"id\" is empty", where);
  t.text = detail::json_string(object, "text", where);
  if (object.contains("guide")) t.guide = detail::json_string(object, "guide", where);
  t.tokens = tokenizer.encode(t.text);
  if (!object.contains("logprobs")) return t;
  const nlohmann::json& logprobs = detail::json_object(object, "logprobs", where);
  const nlohmann::json& tokens = json_array(logprobs, "tokens", where);
  const nlohmann::json& lists = json_array(logprobs, "top_logprobs", where);
  if (tokens.size() != lists.size())
    fail("{}: logprobs has {} tokens but {} top_logprobs lists (one per token)", where, tokens.size(), lists.size());
  std::vector<int32_t> file_tokens;
  for (size_t j = 0; j < tokens.size(); ++j)
    file_tokens.push_back(vocab_id(tokens[j], tokenizer, where, fmt::format("logprobs.tokens[{}]", j)));
  check_tokens_match(file_tokens, t.tokens, where);
  for (size_t j = 0; j < lists.size(); ++j) t.top_logprobs.push_back(parse_top_list(lists[j], j, tokenizer, where));
  t.has_logprobs = true;
  return t;
}

}  // namespace

std::vector<GuideTrace> read_guide_traces(const std::string& path, const Tokenizer& tokenizer) {
  std::ifstream in(path, std::ios::binary);
  ST_CHECK(in.good(), "{}: cannot open the guide-trace file", path);
  std::vector<GuideTrace> out;
  std::unordered_map<std::string, int64_t> first_line;  // id -> line number
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (blank(line)) continue;
    const std::string where = fmt::format("{}:{}", path, number);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      if (non_finite_literal_at(line, e.byte))
        fail("{}: not valid JSON (syntax error at byte {}): NaN and Infinity are not JSON numbers, and log-probs "
             "must be finite",
             where, e.byte);
      fail("{}: not valid JSON (syntax error at byte {})", where, e.byte);
    } catch (const nlohmann::json::exception& e) {  // e.g. a number too large for a double
      fail("{}: not valid JSON ({})", where, json_message(e));
    }
    if (!object.is_object()) fail("{}: expected a JSON object, got {}", where, object.type_name());
    GuideTrace trace = parse_trace(object, tokenizer, where);
    auto [it, inserted] = first_line.emplace(trace.id, number);
    if (!inserted) fail("{}: duplicate id \"{}\" (first on line {})", where, trace.id, it->second);
    out.push_back(std::move(trace));
  }
  return out;
}

std::string guide_trace_line(const GuideTrace& trace) {
  nlohmann::ordered_json j;
  j["id"] = trace.id;
  if (!trace.guide.empty()) j["guide"] = trace.guide;
  j["text"] = trace.text;
  if (trace.has_logprobs) {
    ST_CHECK(trace.top_logprobs.size() == trace.tokens.size(),
             "guide trace \"{}\": {} tokens but {} top_logprobs lists", trace.id, trace.tokens.size(),
             trace.top_logprobs.size());
    nlohmann::ordered_json lists = nlohmann::ordered_json::array();
    for (const auto& list : trace.top_logprobs) {
      nlohmann::ordered_json pairs = nlohmann::ordered_json::array();
      for (const auto& [id, logprob] : list) {
        ST_CHECK(std::isfinite(logprob), "guide trace \"{}\": log-prob {} of token id {} is not finite", trace.id,
                 logprob, id);
        pairs.push_back({id, logprob});
      }
      lists.push_back(std::move(pairs));
    }
    j["logprobs"] = {{"tokens", trace.tokens}, {"top_logprobs", std::move(lists)}};
  }
  try {
    return j.dump();
  } catch (const nlohmann::json::type_error&) {  // a replaced byte would no longer match the tokens
    fail("guide trace \"{}\": id, guide or text is not valid UTF-8", trace.id);
  }
}

GuideTraces GuideTraces::load(const std::string& path, const Tokenizer& tokenizer) {
  GuideTraces out;
  out.path_ = path;
  out.traces_ = read_guide_traces(path, tokenizer);
  for (size_t i = 0; i < out.traces_.size(); ++i) out.index_.emplace(out.traces_[i].id, i);
  return out;
}

const GuideTrace* GuideTraces::find(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &traces_[it->second];
}

const GuideTrace& GuideTraces::at(const std::string& id) const {
  const GuideTrace* trace = find(id);
  if (trace == nullptr) fail("{}: no trace for example '{}'", path_, id);
  return *trace;
}

}  // namespace statetune::data
