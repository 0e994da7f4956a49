#include "statetune/workers/guide_examples.h"

#include <cstring>
#include <string>

#include "statetune/common/error.h"
#include "statetune/workers/generation.h"

namespace statetune::workers {
namespace {

// A rank's share as bytes: per question its index, its text's length, then the text's ids.
void append(std::string& out, int64_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

int64_t take(const std::string& in, size_t& at) {
  ST_CHECK(at + sizeof(int64_t) <= in.size(), "guide text: a rank's share is truncated");
  int64_t value = 0;
  std::memcpy(&value, in.data() + at, sizeof value);
  at += sizeof value;
  return value;
}

}  // namespace

std::vector<TuneExample> guide_written_examples(const Rwkv7Model& guide, const ModelState& guide_state,
                                                const std::vector<std::vector<int64_t>>& questions, int64_t tokens,
                                                int64_t max_tokens, Communicator& comm) {
  ST_CHECK(tokens >= 1, "guide text: guide_generate_tokens must be >= 1, got {}", tokens);
  GenerationOptions g;
  g.max_tokens = static_cast<int>(tokens);
  g.temperature = 0;  // greedy
  g.stop_token = 0;
  std::string mine;
  const size_t ranks = static_cast<size_t>(comm.size());
  for (size_t i = static_cast<size_t>(comm.rank()); i < questions.size(); i += ranks) {
    std::vector<int64_t> text = generate(guide, questions[i], guide_state, g, {});
    if (text.empty()) text.push_back(g.stop_token);
    append(mine, static_cast<int64_t>(i));
    append(mine, static_cast<int64_t>(text.size()));
    for (int64_t id : text) append(mine, id);
  }
  std::vector<std::vector<int64_t>> texts(questions.size());
  for (const std::string& share : comm.all_gather(mine)) {
    for (size_t at = 0; at < share.size();) {
      const int64_t i = take(share, at), n = take(share, at);
      ST_CHECK(i >= 0 && static_cast<size_t>(i) < questions.size() && n >= 1, "guide text: a rank's share is corrupt");
      std::vector<int64_t>& text = texts[static_cast<size_t>(i)];
      for (int64_t k = 0; k < n; ++k) text.push_back(take(share, at));
    }
  }
  std::vector<TuneExample> out;
  for (size_t i = 0; i < questions.size(); ++i) {
    ST_CHECK(!texts[i].empty(), "guide text: question {} was written by no rank", i);
    out.push_back(target_example(questions[i], texts[i], max_tokens));
  }
  return out;
}

}  // namespace statetune::workers
