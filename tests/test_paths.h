#pragma once
// Where tests find ../shared (data and golden fixtures) and the statetune binary.
// Tests that need shared files call SHARED_OR_SKIP, which skips loudly when they are absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace statetune::testing {

inline std::string shared_dir() {
  if (const char* env = std::getenv("STATETUNE_SHARED_DIR")) return env;
  return STATETUNE_SHARED_DIR_DEFAULT;
}

inline std::string shared_path(const std::string& relative) { return shared_dir() + "/" + relative; }

inline std::string statetune_binary() {
#ifdef STATETUNE_BINARY_DEFAULT
  return STATETUNE_BINARY_DEFAULT;
#else
  return "statetune";
#endif
}

// A fresh, empty temporary directory for one test.
inline std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("statetune_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace statetune::testing

#define SHARED_OR_SKIP(var, relative)                                                            \
  const std::string var = ::statetune::testing::shared_path(relative);                          \
  if (!std::filesystem::exists(var)) {                                                           \
    GTEST_SKIP() << "SKIPPED LOUDLY: shared file " << var                                        \
                 << " is absent (set STATETUNE_SHARED_DIR to the shared/ folder beside the checkout)"; \
  }
