#pragma once
// GSM8K answer extraction and matching, as lm-eval's gsm8k task does it:
//   strict-match:     the first match of "#### (\-?[0-9\.\,]+)" (group 1);
//   flexible-extract: the last match of "(-?[$0-9.,]{2,})|(-?[0-9]+)" (its non-empty group);
// both stripped, "[invalid]" when nothing matches. exact_match then removes ",", "$",
// everything up to the last "#### " and one trailing "." from prediction and gold alike,
// lowercases both and compares.
#include <string>
#include <vector>

namespace statetune::data {

inline constexpr const char* kInvalidAnswer = "[invalid]";

std::string gsm8k_strict(const std::string& completion);
std::string gsm8k_flexible(const std::string& completion);

// lm-eval's regexes_to_ignore + ignore_case, applied to one string.
std::string gsm8k_normalise(const std::string& text);

// exact_match of an extracted prediction against the gold (both normalised).
bool gsm8k_match(const std::string& prediction, const std::string& gold);

// The generated text cut before the first occurrence of any stop sequence (lm-eval splits at
// each `until` string in turn, which amounts to the same).
std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stop);

}  // namespace statetune::data
