#include "statetune/common/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "statetune/common/error.h"

namespace statetune {

std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading: {}", path, std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) fail("{}: read error", path);
  return buffer.str();
}

namespace {

// Writes all of bytes to fd; false (errno set) on failure.
bool write_all(int fd, std::string_view bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view bytes, Durability durability) {
  std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(getpid()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail("{}: cannot open for writing: {}", tmp, std::strerror(errno));
  if (!write_all(fd, bytes)) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    fail("{}: write failed: {}", path, std::strerror(err));
  }
  const int sync_rc = durability == Durability::kSynced ? ::fsync(fd) : 0;
  const int sync_errno = errno;
  if (::close(fd) != 0 || sync_rc != 0) {
    int err = sync_rc != 0 ? sync_errno : errno;
    ::unlink(tmp.c_str());
    fail("{}: write failed: {}", path, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    fail("{}: cannot move the finished file into place: {}", path, std::strerror(err));
  }
}

void sync_file_system(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open to sync: {}", path, std::strerror(errno));
  const int rc = ::syncfs(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("{}: sync failed: {}", path, std::strerror(err));
}

void append_file(const std::string& path, std::string_view bytes, Durability durability) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot open for appending: {}", path, std::strerror(errno));
  const bool written = write_all(fd, bytes);
  int err = errno;
  const bool synced = written && (durability == Durability::kDeferred || ::fdatasync(fd) == 0);
  if (written && !synced) err = errno;
  ::close(fd);
  if (!written || !synced) fail("{}: append failed: {}", path, std::strerror(err));
}

}  // namespace statetune
