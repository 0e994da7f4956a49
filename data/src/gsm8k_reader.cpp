#include "statetune/data/gsm8k_reader.h"

#include "record_reading.h"

namespace statetune::data {

ReadResult<Gsm8kItem> read_gsm8k(const std::string& path, const ReadOptions& options) {
  ReadResult<Gsm8kItem> out;
  const std::string file = detail::base_name(path);
  detail::for_each_jsonl(
      path,
      [&](const nlohmann::json& object, const std::string& where) {
        detail::parse_record(out, options, [&] {
          Gsm8kItem item;
          item.source = where;
          item.id = file + where.substr(path.size());  // "<file name>:<line>"
          item.question = detail::json_string(object, "question", where);
          item.answer = detail::json_string(object, "answer", where);
          // lm-eval strips everything up to the last "#### " ("(?s).*#### ") from the reference.
          const size_t mark = item.answer.rfind("#### ");
          if (mark == std::string::npos) fail("{}: answer has no final \"#### <number>\" line", where);
          item.gold_number = item.answer.substr(mark + 5);
          return item;
        });
      },
      [&](const std::string& message) { detail::bad_record(out, options, message); });
  return out;
}

}  // namespace statetune::data
