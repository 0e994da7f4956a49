#include "statetune/data/gsm8k_extract.h"

#include <algorithm>
#include <regex>

#include "statetune/data/prompts.h"

namespace statetune::data {

namespace {

// The task's patterns in ECMAScript syntax. Python's "\-", "\." and "\," are identity escapes,
// written here without the backslash; the sets they match are the same.
const std::regex& strict_pattern() {
  static const std::regex re("#### (-?[0-9.,]+)");
  return re;
}
const std::regex& flexible_pattern() {
  static const std::regex re("(-?[$0-9.,]{2,})|(-?[0-9]+)");
  return re;
}

// Python's re.findall result for one match: the first non-empty group, stripped.
std::string group_text(const std::smatch& m) {
  for (size_t g = 1; g < m.size(); ++g)
    if (m[g].matched && m[g].length() > 0) return strip(m[g].str());
  return strip(m[0].str());
}

}  // namespace

std::string gsm8k_strict(const std::string& completion) {
  std::smatch m;
  if (!std::regex_search(completion, m, strict_pattern())) return kInvalidAnswer;
  return strip(m[1].str());
}

std::string gsm8k_flexible(const std::string& completion) {
  std::string last = kInvalidAnswer;
  for (auto it = std::sregex_iterator(completion.begin(), completion.end(), flexible_pattern());
       it != std::sregex_iterator(); ++it)
    last = group_text(*it);
  return last;
}

std::string gsm8k_normalise(const std::string& text) {
  std::string s;
  for (char c : text)
    if (c != ',' && c != '$') s += c;
  const size_t mark = s.rfind("#### ");  // "(?s).*#### ": greedy, so up to the last one
  if (mark != std::string::npos) s = s.substr(mark + 5);
  // "\.$": Python's "$" also matches before a final "\n".
  if (!s.empty() && s.back() == '.') {
    s.pop_back();
  } else if (s.size() >= 2 && s.back() == '\n' && s[s.size() - 2] == '.') {
    s.erase(s.size() - 2, 1);
  }
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool gsm8k_match(const std::string& prediction, const std::string& gold) {
  return gsm8k_normalise(prediction) == gsm8k_normalise(gold);
}

std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stop) {
  size_t cut = text.size();
  for (const std::string& s : stop) {
    if (s.empty()) continue;
    cut = std::min(cut, text.find(s));
  }
  return text.substr(0, cut);
}

}  // namespace statetune::data
