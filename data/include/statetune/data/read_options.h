#pragma once
// What readers do with a malformed record, and what they report back.
#include <cstddef>
#include <string>
#include <vector>

namespace statetune::data {

// fail: the first malformed record throws statetune::Error "<file>:<line>: <what>".
// skip: malformed records are left out, counted, and their messages kept; nothing is guessed.
enum class OnError { fail, skip };

// "fail" | "skip" (the configs' `on_error:` values); throws statetune::Error otherwise.
OnError parse_on_error(const std::string& text);

struct ReadOptions {
  OnError on_error = OnError::fail;
};

template <typename Item>
struct ReadResult {
  std::vector<Item> items;
  size_t skipped = 0;
  std::vector<std::string> skip_messages;  // one "<file>:<line>: <what>" per skipped record
};

}  // namespace statetune::data
