#include "statetune/common/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace statetune::log {
namespace {
int g_rank = -1;  // -1: single process, no prefix
std::string g_host;

bool all_ranks_open() {
  const char* v = std::getenv("STATETUNE_LOG_ALL_RANKS");
  return v != nullptr && std::strcmp(v, "0") != 0 && v[0] != '\0';
}
}  // namespace

void set_rank(int rank, const std::string& host) {
  g_rank = rank;
  g_host = host;
}

bool info_enabled() { return g_rank <= 0 || all_ranks_open(); }

void write(const char* level, const std::string& message) {
  std::string prefix = g_rank >= 0 ? fmt::format("[{}@{}] ", g_rank, g_host) : std::string();
  std::string line = std::strcmp(level, "info") == 0 ? fmt::format("{}{}\n", prefix, message)
                                                     : fmt::format("{}{}: {}\n", prefix, level, message);
  std::fputs(line.c_str(), stderr);
}

}  // namespace statetune::log
