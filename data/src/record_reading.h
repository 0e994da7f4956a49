#pragma once
// Private helpers shared by the benchmark readers: JSON Lines iteration with line numbers,
// typed field access with messages naming "<file>:<line>", and the on_error policy.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/data/read_options.h"

namespace statetune::data::detail {

// Calls fn(object, where) for every non-blank line of a JSON Lines file, where = "<path>:<line>".
// A line that is not a JSON object throws (via fn's error handling) "<path>:<line>: ...".
// fn's statetune::Error is handled by `apply_policy` in the caller.
void for_each_jsonl(const std::string& path,
                    const std::function<void(const nlohmann::json& object, const std::string& where)>& fn,
                    const std::function<void(const std::string& message)>& on_bad_line);

// The string field `key` of a JSON object; throws "<where>: missing field "key"" or
// "<where>: field "key" must be a string".
const std::string& json_string(const nlohmann::json& object, const char* key, const std::string& where);
// A nested object field, with the same messages ("must be an object").
const nlohmann::json& json_object(const nlohmann::json& object, const char* key, const std::string& where);

// Runs parse(); on statetune::Error either rethrows (OnError::fail) or counts the record as
// skipped and keeps its message (OnError::skip).
template <typename Item, typename Parse>
void parse_record(ReadResult<Item>& out, const ReadOptions& options, Parse&& parse) {
  try {
    out.items.push_back(parse());
  } catch (const Error& e) {
    if (options.on_error == OnError::fail) throw;
    ++out.skipped;
    out.skip_messages.emplace_back(e.what());
  }
}

// Records a bad line (not even a JSON object) under the on_error policy.
template <typename Item>
void bad_record(ReadResult<Item>& out, const ReadOptions& options, const std::string& message) {
  if (options.on_error == OnError::fail) throw Error(message);
  ++out.skipped;
  out.skip_messages.push_back(message);
}

// The file name without its folders ("a/b/c.csv" -> "c.csv").
std::string base_name(const std::string& path);

}  // namespace statetune::data::detail
