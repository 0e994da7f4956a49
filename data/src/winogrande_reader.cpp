#include "statetune/data/winogrande_reader.h"

#include <fstream>
#include <vector>

#include "record_reading.h"

namespace statetune::data {

namespace {

// "1" -> 0, "2" -> 1 (the JSON may also hold the number itself).
int parse_answer(const nlohmann::json& answer, const std::string& where) {
  if (answer == "1" || answer == 1) return 0;
  if (answer == "2" || answer == 2) return 1;
  fail("{}: answer must be \"1\" or \"2\", got {}", where, answer.dump());
}

struct Label {
  std::string text;
  std::string where;
};

std::vector<Label> read_labels(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ST_CHECK(in.good(), "{}: cannot open the labels file", path);
  std::vector<Label> labels;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) continue;
    labels.push_back({line, fmt::format("{}:{}", path, number)});
  }
  return labels;
}

}  // namespace

ReadResult<WinograndeItem> read_winogrande(const std::string& path, const ReadOptions& options,
                                           const std::string& labels_path) {
  std::vector<Label> labels;
  if (!labels_path.empty()) labels = read_labels(labels_path);
  ReadResult<WinograndeItem> out;
  size_t record = 0;
  detail::for_each_jsonl(
      path,
      [&](const nlohmann::json& object, const std::string& where) {
        const size_t index = record++;
        detail::parse_record(out, options, [&] {
          WinograndeItem item;
          item.source = where;
          item.sentence = detail::json_string(object, "sentence", where);
          item.option1 = detail::json_string(object, "option1", where);
          item.option2 = detail::json_string(object, "option2", where);
          auto qid = object.find("qID");
          item.id = qid != object.end() && qid->is_string() ? qid->get<std::string>()
                                                             : detail::base_name(path) + where.substr(path.size());
          // lm-eval splits at the first "_" (sentence.index("_")).
          if (item.sentence.find('_') == std::string::npos) fail("{}: sentence has no \"_\" blank", where);
          if (labels_path.empty()) {
            auto answer = object.find("answer");
            if (answer == object.end()) fail("{}: missing field \"answer\" (give the labels file if it is separate)", where);
            item.gold = parse_answer(*answer, where);
          } else if (index < labels.size()) {
            item.gold = parse_answer(nlohmann::json(labels[index].text), labels[index].where);
          }
          return item;
        });
      },
      [&](const std::string& message) {
        ++record;
        detail::bad_record(out, options, message);
      });
  if (!labels_path.empty())
    ST_CHECK(labels.size() == record, "{}: {} labels for {} records in {}", labels_path, labels.size(), record, path);
  return out;
}

}  // namespace statetune::data
