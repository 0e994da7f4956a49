#include "statetune/common/output_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "statetune/common/error.h"

namespace statetune {
namespace {

namespace fs = std::filesystem;

// The folder a file goes in ("." for a bare file name).
fs::path folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

// The nearest entry up from `folder` (itself included) that exists: where the missing folders
// would be made. Throws when an entry cannot even be looked at (a folder without search rights).
fs::path nearest_existing(fs::path folder, const std::string& path, const std::string& what) {
  while (true) {
    struct stat st {};
    if (::stat(folder.c_str(), &st) == 0) return folder;
    // ENOTDIR: a file further up, found (and named) on the way up.
    if (errno != ENOENT && errno != ENOTDIR) fail("{} {}: cannot look at {}: {}", what, path, folder.string(), std::strerror(errno));
    const fs::path up = folder.parent_path();
    folder = up.empty() || up == folder ? fs::path(".") : up;
  }
}

// Creates and removes a file in `folder`: whether a result can be written there is known only
// by trying (permissions, read-only mounts, /proc, quotas of zero).
void probe(const fs::path& folder, const std::string& path, const std::string& what, const std::string& context) {
  const std::string name = (folder / (".statetune-probe." + std::to_string(static_cast<long>(::getpid())))).string();
  const int fd = ::open(name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("{} {}: {}cannot create files in {}: {}", what, path, context, folder.string(), std::strerror(errno));
  ::close(fd);
  ::unlink(name.c_str());
}

// Checks (and with `create`, makes) `folder` as the place of `path`.
void prepare_folder(const fs::path& folder, bool create, const std::string& path, const std::string& what) {
  ST_CHECK(!path.empty(), "{}: no path given", what);
  const fs::path existing = nearest_existing(folder, path, what);
  std::error_code ec;
  if (!fs::is_directory(existing, ec)) fail("{} {}: {} is a file, not a folder", what, path, existing.string());
  if (existing == folder) return probe(folder, path, what, "");
  if (!create) return probe(existing, path, what, "cannot create the folder " + folder.string() + ": ");
  fs::create_directories(folder, ec);
  if (ec) fail("{} {}: cannot create the folder {}: {}", what, path, folder.string(), ec.message());
  probe(folder, path, what, "");
}

void expect_not_a_folder(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail("{} {}: is a folder; expected the path of a file", what, path);
}

}  // namespace

void prepare_output_path(const std::string& path, const std::string& what) {
  expect_not_a_folder(path, what);
  prepare_folder(folder_of(path), true, path, what);
}

void prepare_output_folder(const std::string& folder, const std::string& what) {
  prepare_folder(folder.empty() ? fs::path() : fs::path(folder), true, folder, what);
}

void check_output_path(const std::string& path, const std::string& what) {
  expect_not_a_folder(path, what);
  prepare_folder(folder_of(path), false, path, what);
}

}  // namespace statetune
