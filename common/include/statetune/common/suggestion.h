#pragma once
// "Did you mean ...?" for misspelt keys, enum values and commands.
#include <string>
#include <string_view>
#include <vector>

namespace statetune {

// The candidate closest to `word` by edit distance (case-insensitive; a swap of two
// neighbouring letters counts as one edit), or "" when none is within about a third of
// the word's length.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace statetune
