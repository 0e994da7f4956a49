#pragma once
// Prompt rendering identical to lm-evaluation-harness v0.4's task definitions
// (arc_challenge, mmlu default template, winogrande, gsm8k). Few-shot examples are rendered as
// context + " " + gold continuation, joined and terminated by "\n\n", and come before the
// item's own context (after MMLU's subject description). Which examples to use is decided by
// the caller (see fewshot.h); they are rendered in the order given.
#include <vector>

#include "statetune/data/benchmark_items.h"
#include "statetune/data/requests.h"

namespace statetune::data {

// ARC: context "Question: {stem}\nAnswer:", continuations " " + choice text.
McRequest render_arc(const ArcItem& item, const std::vector<ArcItem>& shots = {});

// MMLU: "The following are multiple choice questions (with answers) about {subject}.\n\n", then
// the shots, then "{question.strip()}\nA. {c0}\nB. {c1}\nC. {c2}\nD. {c3}\nAnswer:";
// continuations " A" ... " D".
McRequest render_mmlu(const MmluItem& item, const std::vector<MmluItem>& shots = {});

// WinoGrande (partial scoring): with i the index of the first "_", context k =
// shots + sentence[:i] + option_k, and the continuation " " + sentence[i+1:].strip(), shared.
McRequest render_winogrande(const WinograndeItem& item, const std::vector<WinograndeItem>& shots = {});

// GSM8K: shots (each "Question: {q}\nAnswer: {full solution}") then "Question: {q}\nAnswer:";
// stop at "Question:", "</s>" or "<|im_end|>".
GenRequest render_gsm8k(const Gsm8kItem& item, const std::vector<Gsm8kItem>& shots = {});

// Python's str.strip() on UTF-8 text: every code point str.isspace() calls whitespace (ASCII
// \t\n\v\f\r, \x1c-\x1f and space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
// U+202F, U+205F, U+3000), which lm-eval's question.strip() and the WinoGrande target remove.
std::string strip(const std::string& text);

}  // namespace statetune::data
