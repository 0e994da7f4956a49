#pragma once
// Rank-aware logging. Info goes out from global rank 0 only; warnings and errors from every
// rank, prefixed "[rank@host]" once a rank is set. STATETUNE_LOG_ALL_RANKS=1 opens all.
#include <string>

#include <fmt/format.h>

namespace statetune::log {

void set_rank(int rank, const std::string& host);
bool info_enabled();
void write(const char* level, const std::string& message);

template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (info_enabled()) write("info", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write("warning", fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write("error", fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace statetune::log
