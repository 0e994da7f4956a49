#include "statetune/cluster/time_limit.h"

#include <vector>

namespace statetune::cluster {
namespace {

// "12" -> 12; nullopt for anything but 1..9 digits.
std::optional<std::int64_t> number(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(text);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(sep, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

}  // namespace

std::optional<std::int64_t> parse_time_limit(const std::string& text) {
  std::int64_t days = 0;
  std::string clock = text;
  const bool has_days = text.find('-') != std::string::npos;
  if (has_days) {
    const auto dash = text.find('-');
    const auto d = number(text.substr(0, dash));
    if (!d) return std::nullopt;
    days = *d;
    clock = text.substr(dash + 1);
  }
  std::vector<std::optional<std::int64_t>> fields;
  for (const auto& part : split(clock, ':')) {
    fields.push_back(number(part));
    if (!fields.back()) return std::nullopt;
  }
  std::int64_t seconds = 0;
  if (has_days) {  // D-HH, D-HH:MM, D-HH:MM:SS
    if (fields.size() > 3) return std::nullopt;
    const std::int64_t scale[] = {3600, 60, 1};
    for (std::size_t i = 0; i < fields.size(); ++i) seconds += *fields[i] * scale[i];
  } else if (fields.size() == 1) {  // MM
    seconds = *fields[0] * 60;
  } else if (fields.size() == 2) {  // MM:SS
    seconds = *fields[0] * 60 + *fields[1];
  } else if (fields.size() == 3) {  // HH:MM:SS
    seconds = *fields[0] * 3600 + *fields[1] * 60 + *fields[2];
  } else {
    return std::nullopt;
  }
  return days * 86400 + seconds;
}

}  // namespace statetune::cluster
