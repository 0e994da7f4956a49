#include "statetune/data/arc_reader.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "record_reading.h"

namespace statetune::data {

namespace {

ArcItem parse_arc(const nlohmann::json& object, const std::string& where) {
  ArcItem item;
  item.source = where;
  item.id = detail::json_string(object, "id", where);
  const nlohmann::json& question = detail::json_object(object, "question", where);
  item.stem = detail::json_string(question, "stem", where + ": question");
  auto choices = question.find("choices");
  if (choices == question.end()) fail("{}: missing field \"question.choices\"", where);
  if (!choices->is_array()) fail("{}: field \"question.choices\" must be an array", where);
  for (size_t i = 0; i < choices->size(); ++i) {
    const nlohmann::json& choice = (*choices)[i];
    const std::string at = fmt::format("{}: question.choices[{}]", where, i);
    if (!choice.is_object()) fail("{} must be an object with \"text\" and \"label\"", at);
    item.choices.push_back(detail::json_string(choice, "text", at));
    const std::string& label = detail::json_string(choice, "label", at);
    if (std::find(item.labels.begin(), item.labels.end(), label) != item.labels.end())
      fail("{}: duplicate label \"{}\"", at, label);
    item.labels.push_back(label);
  }
  if (item.choices.size() < 2) fail("{}: expected at least 2 choices, got {}", where, item.choices.size());
  const std::string& key = detail::json_string(object, "answerKey", where);
  auto found = std::find(item.labels.begin(), item.labels.end(), key);
  if (found == item.labels.end())
    fail("{}: answerKey \"{}\" is not one of the labels {}", where, key, fmt::join(item.labels, ","));
  item.gold = static_cast<int>(found - item.labels.begin());
  return item;
}

}  // namespace

ReadResult<ArcItem> read_arc(const std::string& path, const ReadOptions& options) {
  ReadResult<ArcItem> out;
  detail::for_each_jsonl(
      path,
      [&](const nlohmann::json& object, const std::string& where) {
        detail::parse_record(out, options, [&] { return parse_arc(object, where); });
      },
      [&](const std::string& message) { detail::bad_record(out, options, message); });
  return out;
}

}  // namespace statetune::data
