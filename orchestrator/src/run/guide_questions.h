#pragma once
// A benchmark item's question as a guide sees it: the prompt without any answer or choice in
// it (few-shot examples included), and where the guide's answer ends. Shared by
// `guide-traces` (writing traces) and method tts (the question a state is adapted to).
#include <string>
#include <vector>

#include "statetune/data/benchmark.h"

namespace statetune::orchestrator {

struct GuideQuestion {
  std::string id;
  std::string prompt;
  std::vector<std::string> stop;
};

// The question of a multiple-choice item without any choice in it (WinoGrande: the part its
// per-option contexts share, up to the last whitespace).
std::string question_prompt(const data::McRequest& r);

// Every item of a rendered benchmark, in order (multiple choice, then generation).
std::vector<GuideQuestion> guide_questions(const data::RenderedBenchmark& b);

}  // namespace statetune::orchestrator
