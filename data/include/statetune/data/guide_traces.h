#pragma once
// Guide traces (METHOD.md §4): what a guide model wrote for each benchmark question, read from
// a JSON Lines file so that any model (ours or not) can be the guide. One line per example:
//
//   {"id": "q17", "guide": "rwkv7-g1-2.9b.pth", "text": " The answer is B.",
//    "logprobs": {"tokens": [33, 1204, ...], "top_logprobs": [[[33, -0.01], [45, -4.7]], ...]}}
//
//   id        string, required, unique in the file: the benchmark item's id
//   text      string, required: the guide's chain of thought and answer (may be empty)
//   guide     string, optional: the guide's name
//   logprobs  object, optional: `tokens` must be exactly the tokenizer's encoding of `text`
//             (encoded on its own, as a continuation is), which is how a trace made with another
//             tokenizer is caught; `top_logprobs` holds one list per token of [id, log-prob]
//             pairs: the guide's most likely next tokens at that position, given the prompt and
//             the tokens before it. Ids are in the vocabulary, log-probs finite and <= 0, the
//             pairs of one list have distinct ids and at most probability mass 1.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "statetune/data/tokenizer.h"

namespace statetune::data {

struct GuideTrace {
  std::string id;
  std::string text;
  std::string guide;            // "" when the file does not say
  std::vector<int32_t> tokens;  // the tokenizer's encoding of text, filled whether or not the file has logprobs
  bool has_logprobs = false;
  // When has_logprobs: one list per token of `tokens`, as in the file.
  std::vector<std::vector<std::pair<int32_t, double>>> top_logprobs;
  std::string source;  // "<file>:<line>"
};

// Reads and checks every line; the first problem throws statetune::Error "<file>:<line>: <what>"
// (not JSON, a missing or mistyped field, a duplicate id, logprobs whose token ids are not the
// encoding of the text or whose lists do not match the tokens one to one, ids outside the
// vocabulary, log-probs that are not finite or are positive). Blank lines are skipped.
std::vector<GuideTrace> read_guide_traces(const std::string& path, const Tokenizer& tokenizer);

// One JSON line (no newline) in the format above; `logprobs` only when has_logprobs, `guide`
// only when not empty. Throws statetune::Error when has_logprobs and the lists do not match
// the tokens, or a log-prob is not finite.
std::string guide_trace_line(const GuideTrace& trace);

// A read file with lookup by example id.
class GuideTraces {
 public:
  static GuideTraces load(const std::string& path, const Tokenizer& tokenizer);

  // Throws statetune::Error "<file>: no trace for example '<id>'".
  const GuideTrace& at(const std::string& id) const;
  // nullptr when there is none.
  const GuideTrace* find(const std::string& id) const;
  const std::vector<GuideTrace>& traces() const { return traces_; }
  size_t size() const { return traces_.size(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<GuideTrace> traces_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace statetune::data
