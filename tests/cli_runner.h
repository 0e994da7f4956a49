#pragma once
// Runs a command line as a user would (through /bin/sh), capturing stdout and stderr
// together and the exit status. End-to-end tests of the CLI and the Python tools use it.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "test_paths.h"

namespace statetune::testing {

struct CommandResult {
  int code = -1;       // the exit status; -1 when the command did not exit normally
  std::string output;  // stdout and stderr, interleaved as written
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Every occurrence of `from` replaced by `to` (a command line adapted to this machine, an
// output with its paths masked).
inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// `statetune <args>`, the binary this build produced.
inline CommandResult run_statetune(const std::string& args) { return run_command(statetune_binary() + " " + args); }

}  // namespace statetune::testing
