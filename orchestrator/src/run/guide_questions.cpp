#include "run/guide_questions.h"

namespace statetune::orchestrator {
namespace {
constexpr const char* kWhitespace = " \t\n\r\v\f";
constexpr const char* kAnswerEnd = "\n\n";  // the few-shot delimiter: an answer ends here

std::string rstrip(std::string text) {
  text.resize(text.find_last_not_of(kWhitespace) + 1);  // npos + 1 == 0 when all whitespace
  return text;
}

}  // namespace

// The question of a multiple-choice item without any choice in it.
std::string question_prompt(const data::McRequest& r) {
  if (r.contexts.size() == 1) return rstrip(r.contexts[0]);
  // WinoGrande: contexts are shots + sentence[:blank] + option; keep what they all share, up to
  // the last whitespace in it (options may share their first letters).
  std::string common = r.contexts[0];
  for (const std::string& c : r.contexts) {
    size_t n = 0;
    while (n < common.size() && n < c.size() && common[n] == c[n]) ++n;
    common.resize(n);
  }
  const size_t space = common.find_last_of(kWhitespace);
  if (space != std::string::npos) common.resize(space + 1);
  return rstrip(common);
}

std::vector<GuideQuestion> guide_questions(const data::RenderedBenchmark& b) {
  std::vector<GuideQuestion> out;
  for (const data::McRequest& r : b.mc) out.push_back({r.id, question_prompt(r), {kAnswerEnd}});
  for (const data::GenRequest& r : b.gen) {
    GuideQuestion q{r.id, rstrip(r.prompt), r.stop};
    q.stop.emplace_back(kAnswerEnd);
    out.push_back(std::move(q));
  }
  return out;
}

}  // namespace statetune::orchestrator
