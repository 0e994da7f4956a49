// The listed members of a zip or tar archive, extracted with libarchive and hashed on the way.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>

#include "download_parts.h"
#include "statetune/common/error.h"

namespace statetune::fetch::detail {
namespace {

namespace fs = std::filesystem;

struct ArchiveReader {
  archive* a = archive_read_new();
  ~ArchiveReader() { archive_read_free(a); }
};

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Writes the current entry's data to `dest`, hashing it; returns the sha256, sets `bytes`.
std::string write_member(archive* a, const fs::path& dest, const std::string& where, uint64_t* bytes) {
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) fail("{}: cannot create the folder: {}", dest.parent_path().string(), ec.message());
  const int fd = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("{}: cannot open for writing: {}", dest.string(), std::strerror(errno));
  Sha256 sha;
  uint64_t total = 0;
  while (true) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int rc = archive_read_data_block(a, &block, &size, &offset);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) {
      const std::string why = archive_error_string(a) ? archive_error_string(a) : "read error";
      ::close(fd);
      fail("{}: cannot extract: {}", where, why);
    }
    if (static_cast<uint64_t>(offset) != total) {  // a sparse hole: zeros up to the offset
      ::close(fd);
      fail("{}: sparse archive members are not supported", where);
    }
    const char* p = static_cast<const char*>(block);
    size_t left = size;
    while (left > 0) {
      const ssize_t w = ::write(fd, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        const int err = errno;
        ::close(fd);
        fail("{}: write failed: {}", dest.string(), std::strerror(err));
      }
      p += w;
      left -= static_cast<size_t>(w);
    }
    sha.update(block, size);
    total += size;
  }
  if (::close(fd) != 0) fail("{}: write failed: {}", dest.string(), std::strerror(errno));
  *bytes = total;
  return sha.hex();
}

}  // namespace

std::vector<ManifestFile> extract_members(const fs::path& archive_path, const Source& source, const fs::path& staging,
                                          const std::string& name) {
  ArchiveReader reader;
  archive* a = reader.a;
  if (source.format == "zip") {
    archive_read_support_format_zip(a);
  } else {
    archive_read_support_format_tar(a);
    archive_read_support_format_gnutar(a);
    archive_read_support_filter_all(a);  // .tar.gz and friends
  }
  const std::string where = fmt::format("{} (from {})", archive_path.string(), source.url);
  if (archive_read_open_filename(a, archive_path.c_str(), 1 << 16) != ARCHIVE_OK)
    fail("{}: not a readable {} archive: {}", where, source.format, archive_error_string(a) ? archive_error_string(a) : "?");

  std::vector<ManifestFile> files;
  std::vector<int> matches(source.members.size(), 0);
  std::set<std::string> dests;
  while (true) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      fail("{}: not a readable {} archive: {}", where, source.format, archive_error_string(a) ? archive_error_string(a) : "?");
    std::string path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    while (path.rfind("./", 0) == 0) path = path.substr(2);
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    size_t which = source.members.size();
    for (size_t i = 0; i < source.members.size(); ++i) {
      const Member& m = source.members[i];
      if (m.is_pattern() ? ::fnmatch(m.from.c_str(), path.c_str(), FNM_PATHNAME) == 0 : m.from == path) {
        which = i;
        break;
      }
    }
    if (which == source.members.size()) continue;  // not listed: left in the archive
    const Member& m = source.members[which];
    ++matches[which];
    const std::string dest = m.is_pattern() ? m.dest + base_name(path) : m.dest;
    ST_CHECK(dests.insert(dest).second, "{}: two members land in {} (the second is {})", where, dest, path);
    uint64_t bytes = 0;
    const std::string sha = write_member(a, staging / dest, fmt::format("{}: member {}", where, path), &bytes);
    const std::string label = fmt::format("{}: {}", name, dest);
    if (m.pin.sha256 && *m.pin.sha256 != sha)
      fail("{}: member {}: sha256 mismatch: expected {}, got {} ({} bytes); nothing of '{}' was kept", where, path,
           *m.pin.sha256, sha, bytes, name);
    if (m.pin.bytes && *m.pin.bytes != bytes)
      fail("{}: member {}: size mismatch: expected {} bytes, got {}; nothing of '{}' was kept", where, path, *m.pin.bytes,
           bytes, name);
    if (m.pin.sha256 || !m.is_pattern()) std::fprintf(stderr, "%s\n", verified_line(label, bytes, sha, m.pin.sha256.has_value()).c_str());
    files.push_back({dest, bytes, sha, m.pin.sha256.has_value(), source.url, path});
  }
  for (size_t i = 0; i < source.members.size(); ++i) {
    const Member& m = source.members[i];
    if (matches[i] == 0)
      fail("{}: the archive has no member {}{}; nothing of '{}' was kept", where, m.from,
           m.is_pattern() ? " (no path matches the pattern)" : "", name);
    if (m.is_pattern())
      std::fprintf(stderr, "%s: %s: %d files from %s, sha256 of each recorded in the manifest (no pin was known)\n",
                   name.c_str(), m.dest.c_str(), matches[i], m.from.c_str());
  }
  return files;
}

}  // namespace statetune::fetch::detail
