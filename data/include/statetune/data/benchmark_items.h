#pragma once
// The items of the four benchmarks as their upstream files hold them, before any prompt is
// rendered. Every item remembers where it came from ("<file>:<line>") so that later errors
// and per-item records can point back at the data.
#include <string>
#include <vector>

namespace statetune::data {

// ARC (AI2 Reasoning Challenge): a question stem and 3-5 labelled choices; `gold` indexes
// `choices` (answerKey mapped through the item's own labels, which may be A-E or 1-5).
struct ArcItem {
  std::string id;
  std::string stem;
  std::vector<std::string> choices;
  std::vector<std::string> labels;
  int gold = 0;
  std::string source;
};

// MMLU: one question with exactly four choices; gold is 0..3 (A..D). The subject comes from
// the file name (<subject>_test.csv / <subject>_dev.csv), underscores kept.
struct MmluItem {
  std::string id;  // "<subject>/<record index>" (MMLU has no ids)
  std::string subject;
  std::string question;
  std::vector<std::string> choices;
  int gold = 0;
  std::string source;
};

// WinoGrande: a sentence with one "_" blank and two options; gold is 0 or 1 (answer "1"/"2").
struct WinograndeItem {
  std::string id;  // qID
  std::string sentence;
  std::string option1;
  std::string option2;
  int gold = 0;
  std::string source;
};

// GSM8K: a word problem and its worked solution, which ends in "#### <number>".
struct Gsm8kItem {
  std::string id;  // "<file name>:<line>" (GSM8K has no ids)
  std::string question;
  std::string answer;       // the full upstream solution, used as the few-shot/training target
  std::string gold_number;  // the text after "#### ", as lm-eval compares it
  std::string source;
};

}  // namespace statetune::data
