#pragma once
// Where tests find ../shared (data and golden fixtures) and the statetune binary.
// Tests that need shared files call SHARED_OR_SKIP, which skips loudly when they are absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace statetune::testing {

inline std::string shared_dir() {
  if (const char* env = std::getenv("STATETUNE_SHARED_DIR")) return env;
  return STATETUNE_SHARED_DIR_DEFAULT;
}

inline std::string shared_path(const std::string& relative) { return shared_dir() + "/" + relative; }

// A Python with torch (the torch wheel's virtual environment run.sh made, whose LibTorch this
// build links): STATETUNE_TORCH_PYTHON, else what CMake was told, else /usr/bin/python3.
inline std::string torch_python() {
  if (const char* env = std::getenv("STATETUNE_TORCH_PYTHON")) return env;
#ifdef STATETUNE_TORCH_PYTHON_DEFAULT
  return STATETUNE_TORCH_PYTHON_DEFAULT;
#else
  return "/usr/bin/python3";
#endif
}

inline std::string statetune_binary() {
#ifdef STATETUNE_BINARY_DEFAULT
  return STATETUNE_BINARY_DEFAULT;
#else
  return "statetune";
#endif
}

// The directories temp_dir() made, removed when the test process exits so a test run leaves
// nothing in /tmp. Set STATETUNE_KEEP_TEST_DIRS=1 to keep them for a look after a failure.
// Only the process that made them removes them (a forked child that exits must not).
class TempDirRegistry {
 public:
  void add(const std::filesystem::path& dir) { dirs_.push_back(dir); }
  ~TempDirRegistry() {
    if (::getpid() != owner_ || std::getenv("STATETUNE_KEEP_TEST_DIRS")) return;
    std::error_code ignored;  // best effort: a failed clean-up must not fail the test
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir, ignored);
  }

 private:
  pid_t owner_ = ::getpid();
  std::vector<std::filesystem::path> dirs_;
};

inline TempDirRegistry& temp_dir_registry() {
  static TempDirRegistry registry;
  return registry;
}

// A fresh, empty temporary directory for one test, removed when the test process exits.
inline std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("statetune_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  temp_dir_registry().add(dir);
  return dir.string();
}

}  // namespace statetune::testing

#define SHARED_OR_SKIP(var, relative)                                                            \
  const std::string var = ::statetune::testing::shared_path(relative);                          \
  if (!std::filesystem::exists(var)) {                                                           \
    GTEST_SKIP() << "SKIPPED LOUDLY: shared file " << var                                        \
                 << " is absent (set STATETUNE_SHARED_DIR to the shared/ folder beside the checkout)"; \
  }
