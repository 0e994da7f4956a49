#include "record_reading.h"

#include <fstream>

namespace statetune::data::detail {

namespace {
bool blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }
}  // namespace

void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json& object, const std::string& where)>& fn,
                    const std::function<void(const std::string& message)>& on_bad_line) {
  std::ifstream in(path, std::ios::binary);
  ST_CHECK(in.good(), "{}: cannot open the file", path);
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (blank(line)) continue;  // a trailing newline or spacer line is not a record
    const std::string where = fmt::format("{}:{}", path, number);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      on_bad_line(fmt::format("{}: not valid JSON (syntax error at byte {})", where, e.byte));
      continue;
    }
    if (!object.is_object()) {
      on_bad_line(fmt::format("{}: expected a JSON object, got {}", where, object.type_name()));
      continue;
    }
    fn(object, where);
  }
}

const std::string& json_string(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) fail("{}: missing field \"{}\"", where, key);
  if (!it->is_string()) fail("{}: field \"{}\" must be a string, got {}", where, key, it->type_name());
  return it->get_ref<const std::string&>();
}

const nlohmann::json& json_object(const nlohmann::json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) fail("{}: missing field \"{}\"", where, key);
  if (!it->is_object()) fail("{}: field \"{}\" must be an object, got {}", where, key, it->type_name());
  return *it;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace statetune::data::detail

namespace statetune::data {

OnError parse_on_error(const std::string& text) {
  if (text == "fail") return OnError::fail;
  if (text == "skip") return OnError::skip;
  fail("on_error: expected \"fail\" or \"skip\", got \"{}\"", text);
}

}  // namespace statetune::data
