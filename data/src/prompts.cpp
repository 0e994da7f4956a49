#include "statetune/data/prompts.h"

#include <cstdint>
#include <utility>

#include "statetune/data/mmlu_reader.h"

namespace statetune::data {

namespace {

constexpr const char* kTargetDelimiter = " ";
constexpr const char* kFewshotDelimiter = "\n\n";

std::string arc_context(const ArcItem& item) { return "Question: " + item.stem + "\nAnswer:"; }

std::string mmlu_context(const MmluItem& item) {
  return strip(item.question) + "\nA. " + item.choices[0] + "\nB. " + item.choices[1] + "\nC. " + item.choices[2] +
         "\nD. " + item.choices[3] + "\nAnswer:";
}

std::string gsm8k_context(const Gsm8kItem& item) { return "Question: " + item.question + "\nAnswer:"; }

size_t blank_of(const WinograndeItem& item) { return item.sentence.find('_'); }
std::string winogrande_context(const WinograndeItem& item, int option) {
  return item.sentence.substr(0, blank_of(item)) + (option == 0 ? item.option1 : item.option2);
}
std::string winogrande_continuation(const WinograndeItem& item) {
  return kTargetDelimiter + strip(item.sentence.substr(blank_of(item) + 1));
}

const char* const kMmluLetters[] = {"A", "B", "C", "D"};

// shot_1 + "\n\n" + ... + shot_k + "\n\n", each shot being its context + " " + gold; "" for no shots.
template <typename Item, typename Shot>
std::string fewshot_prefix(const std::vector<Item>& shots, Shot&& shot_text) {
  std::string prefix;
  for (const Item& shot : shots) prefix += shot_text(shot) + kFewshotDelimiter;
  return prefix;
}

}  // namespace

namespace {

// Python's str.isspace() code points (Objects/unicodectype.c, _PyUnicode_IsWhitespace).
bool is_python_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// The code point whose UTF-8 encoding starts at text[i] and its byte length; a byte that does
// not start a well-formed sequence is returned alone as a non-space (0xFFFFFFFF).
std::pair<uint32_t, size_t> decode_at(const std::string& text, size_t i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) return {lead, 1};
  const size_t width = (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (width == 0 || i + width > text.size()) return {0xFFFFFFFFu, 1};
  uint32_t c = lead & (0x7F >> width);
  for (size_t k = 1; k < width; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return {0xFFFFFFFFu, 1};
    c = (c << 6) | (b & 0x3F);
  }
  return {c, width};
}

}  // namespace

std::string strip(const std::string& text) {
  size_t begin = 0;
  while (begin < text.size()) {
    const auto [c, width] = decode_at(text, begin);
    if (!is_python_space(c)) break;
    begin += width;
  }
  size_t end = text.size();
  while (end > begin) {
    size_t start = end - 1;  // back to the lead byte of the last code point (at most 3 continuation bytes)
    while (start > begin && end - start < 4 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    const auto [c, width] = decode_at(text, start);
    if (start + width != end || !is_python_space(c)) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

McRequest render_arc(const ArcItem& item, const std::vector<ArcItem>& shots) {
  McRequest r;
  r.id = item.id;
  r.source = item.source;
  r.gold = item.gold;
  const std::string prefix = fewshot_prefix(shots, [](const ArcItem& s) {
    return arc_context(s) + kTargetDelimiter + s.choices[static_cast<size_t>(s.gold)];
  });
  r.contexts = {prefix + arc_context(item)};
  for (const std::string& choice : item.choices) {
    r.continuations.push_back(kTargetDelimiter + choice);
    r.norm_lengths.push_back(static_cast<double>(utf8_length(choice)));
  }
  return r;
}

McRequest render_mmlu(const MmluItem& item, const std::vector<MmluItem>& shots) {
  McRequest r;
  r.id = item.id;
  r.subject = item.subject;
  r.source = item.source;
  r.gold = item.gold;
  const std::string description =
      "The following are multiple choice questions (with answers) about " + mmlu_subject_name(item.subject) + ".\n\n";
  const std::string prefix = fewshot_prefix(shots, [](const MmluItem& s) {
    return mmlu_context(s) + kTargetDelimiter + kMmluLetters[s.gold];
  });
  r.contexts = {description + prefix + mmlu_context(item)};
  for (const char* letter : kMmluLetters) {
    r.continuations.push_back(std::string(kTargetDelimiter) + letter);
    r.norm_lengths.push_back(1.0);
  }
  return r;
}

McRequest render_winogrande(const WinograndeItem& item, const std::vector<WinograndeItem>& shots) {
  McRequest r;
  r.id = item.id;
  r.source = item.source;
  r.gold = item.gold;
  const std::string prefix = fewshot_prefix(shots, [](const WinograndeItem& s) {
    return winogrande_context(s, s.gold) + winogrande_continuation(s);
  });
  for (int option = 0; option < 2; ++option) {
    const std::string choice = winogrande_context(item, option);
    r.contexts.push_back(prefix + choice);
    r.norm_lengths.push_back(static_cast<double>(utf8_length(choice)));
  }
  r.continuations = {winogrande_continuation(item)};
  return r;
}

GenRequest render_gsm8k(const Gsm8kItem& item, const std::vector<Gsm8kItem>& shots) {
  GenRequest r;
  r.id = item.id;
  r.source = item.source;
  r.gold = item.gold_number;
  r.target = kTargetDelimiter + item.answer;
  r.prompt = fewshot_prefix(shots, [](const Gsm8kItem& s) { return gsm8k_context(s) + kTargetDelimiter + s.answer; }) +
             gsm8k_context(item);
  r.stop = {"Question:", "</s>", "<|im_end|>"};
  return r;
}

TrainingExample training_example(const McRequest& request) {
  const size_t gold = static_cast<size_t>(request.gold);
  return {request.id, request.context(gold), request.continuation(gold)};
}

TrainingExample training_example(const GenRequest& request) { return {request.id, request.prompt, request.target}; }

size_t utf8_length(const std::string& text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++count) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t width = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
    size_t ok = 1;
    while (ok < width && i + ok < text.size() && (static_cast<unsigned char>(text[i + ok]) & 0xC0) == 0x80) ++ok;
    i += ok == width ? width : 1;  // a broken sequence: count its first byte alone
  }
  return count;
}

}  // namespace statetune::data
