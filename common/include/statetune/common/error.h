#pragma once
// The one typed error of statetune. Library code throws it; only main() decides the exit
// code and prints the message. Messages name the file / key / line and what was expected.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace statetune {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// fail("{}: expected {}", path, what) -> throws statetune::Error with a formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace statetune

// ST_CHECK(cond, "fmt", args...): a user-facing check that throws statetune::Error.
#define ST_CHECK(cond, ...)                      \
  do {                                           \
    if (!(cond)) ::statetune::fail(__VA_ARGS__); \
  } while (0)
