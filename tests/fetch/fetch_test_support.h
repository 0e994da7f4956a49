#pragma once
// What the fetch tests share: a served folder of small benchmark-like files and archives, the
// loopback server, and a test catalogue pointing at it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_runner.h"
#include "loopback_server.h"
#include "test_paths.h"

namespace statetune::testing {

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string sha256_of(const std::filesystem::path& path) {
  const CommandResult r = run_command("sha256sum '" + path.string() + "'");
  return r.output.substr(0, 64);
}

// `lines` JSON lines of about 100 bytes each, different per `seed`.
inline std::string jsonl(int lines, int seed) {
  std::string out;
  for (int i = 0; i < lines; ++i)
    out += "{\"id\": \"q" + std::to_string(seed) + "-" + std::to_string(i) + "\", \"text\": \"" +
           std::string(60 + (i * 7 + seed) % 30, static_cast<char>('a' + (i + seed) % 26)) + "\"}\n";
  return out;
}

inline std::string make_archive(const std::string& format, const std::filesystem::path& out, const std::filesystem::path& root) {
  const std::string script = std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/tests/fetch/make_archive.py";
  const CommandResult r = run_command("python3 '" + script + "' " + format + " '" + out.string() + "' '" + root.string() + "'");
  EXPECT_EQ(r.code, 0) << r.output;
  return out.string();
}

// The environment of a statetune command in these tests: no proxy between it and 127.0.0.1.
inline std::string fetch_env() { return "env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy NO_PROXY='*' "; }

}  // namespace statetune::testing
