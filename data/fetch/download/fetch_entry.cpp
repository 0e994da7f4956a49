// One catalogue entry into the cache: lock, download (resumable), verify, extract, move into
// place, manifest last. Checksum and HTTP errors leave nothing of the entry; a transfer cut
// keeps its .part for the next run.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "download_parts.h"
#include "statetune/common/byte_size.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/fetch/cache.h"
#include "statetune/fetch/fetcher.h"

namespace statetune::fetch {
namespace {

namespace fs = std::filesystem;
using detail::Failure;

// flock on <cache>/.partial/<name>.lock for the whole fetch. The file is removed on release
// (so a finished or failed fetch leaves nothing behind); a waiter that then holds a lock on a
// removed file notices (its inode is no longer the path's) and locks the path again.
class EntryLock {
 public:
  EntryLock(const fs::path& path, const std::string& name) : path_(path) {
    bool told = false;
    while (true) {
      fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
      if (fd_ < 0) fail("{}: cannot create the lock file: {}", path.string(), std::strerror(errno));
      if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) fail("{}: cannot lock: {}", path.string(), std::strerror(errno));
        if (!told) {
          std::fprintf(stderr, "%s: another fetch of it is running (it holds %s); waiting for it to end\n", name.c_str(),
                       path.c_str());
          told = true;
        }
        if (::flock(fd_, LOCK_EX) != 0) fail("{}: cannot lock: {}", path.string(), std::strerror(errno));
      }
      struct stat held {}, named {};
      if (::fstat(fd_, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
          held.st_dev == named.st_dev)
        return;
      ::close(fd_);  // the holder removed it as we waited: lock the file now at the path
    }
  }
  ~EntryLock() {
    ::unlink(path_.c_str());
    ::close(fd_);
  }
  EntryLock(const EntryLock&) = delete;
  EntryLock& operator=(const EntryLock&) = delete;

 private:
  fs::path path_;
  int fd_ = -1;
};

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Nothing of the entry is left: its partial folder, and an entry folder without a manifest.
void discard(const fs::path& cache, const Entry& entry) {
  std::error_code ec;
  fs::remove_all(partial_folder(cache, entry.name), ec);
  if (!fs::exists(manifest_path(cache, entry.kind, entry.name), ec)) fs::remove_all(entry_folder(cache, entry.kind, entry.name), ec);
}

// Whether the manifest's files are all there with their recorded sizes.
bool cached_whole(const Manifest& m, const fs::path& folder) {
  for (const ManifestFile& f : m.files) {
    std::error_code ec;
    const uint64_t size = fs::file_size(folder / f.path, ec);
    if (ec || size != f.bytes) return false;
  }
  return true;
}

// A permanent failure (checksum, HTTP, archive): the entry is discarded, then the error thrown.
struct Discarding {
  const fs::path& cache;
  const Entry& entry;
  bool armed = true;
  ~Discarding() {
    if (armed) discard(cache, entry);
  }
};

}  // namespace

bool download_supported() { return true; }
std::string download_unsupported_reason() { return ""; }

FetchOutcome fetch_entry(const Entry& entry, const FetchOptions& options) {
  const fs::path& cache = options.cache;
  prepare_cache(cache);  // before any network activity: names the folder that cannot take files
  if (const std::string refusal = unpinned_refusal(entry, options.trust_unpinned); !refusal.empty()) fail("{}", refusal);

  EntryLock lock(cache / ".partial" / (entry.name + ".lock"), entry.name);
  const fs::path folder = entry_folder(cache, entry.kind, entry.name);
  const fs::path manifest_file = manifest_path(cache, entry.kind, entry.name);
  std::error_code ec;
  if (std::optional<Manifest> m = read_manifest(manifest_file)) {
    if (cached_whole(*m, folder)) {
      std::fprintf(stderr, "%s: already in the cache (%s)\n", entry.name.c_str(), folder.c_str());
      return FetchOutcome::kAlreadyCached;
    }
    std::fprintf(stderr, "%s: files listed in %s are missing or changed; fetching it again\n", entry.name.c_str(),
                 manifest_file.c_str());
    fs::remove(manifest_file, ec);  // no longer cached, from here on
  }

  const fs::path partial = partial_folder(cache, entry.name);
  fs::create_directories(partial, ec);
  if (ec) fail("{}: cannot create the folder: {}", partial.string(), ec.message());

  // 1. Every source downloaded and verified: <partial>/<file> (a .part while it arrives).
  Manifest manifest;
  manifest.name = entry.name;
  manifest.kind = entry.kind;
  manifest.catalog = options.catalog_origin;
  manifest.splits = entry.splits;
  manifest.file = entry.file;
  for (const Source& source : entry.sources) {
    const std::string file = source.download_name();
    const fs::path done = partial / file, part = partial / (file + ".part");
    const std::string label = entry.sources.size() == 1 ? entry.name : entry.name + ": " + file;
    uint64_t bytes = 0;
    std::string sha;
    if (fs::exists(done, ec)) {  // verified by an earlier run that stopped later on
      sha = detail::sha256_file(done, &bytes);
    } else {
      detail::DownloadResult r = detail::download(source.url, part, entry.name, label, source.pin.bytes,
                                                        {options.connect_timeout_s, options.stall_s});
      if (r.failure == Failure::kHttp) {
        discard(cache, entry);
        fail("{}", r.message);
      }
      if (r.failure != Failure::kNone) {  // the .part stays for a resume, when it holds something
        std::error_code ignored;
        if (fs::exists(part, ignored) && fs::file_size(part, ignored) == 0) fs::remove(part, ignored);
        fs::remove(partial, ignored);  // removes the folder only when nothing is kept in it
        fail("{}", r.message);
      }
      bytes = r.bytes;
      sha = r.sha256;
    }
    if ((source.pin.sha256 && *source.pin.sha256 != sha) || (source.pin.bytes && *source.pin.bytes != bytes)) {
      discard(cache, entry);
      if (source.pin.sha256 && *source.pin.sha256 != sha)
        fail("{} (from {}): sha256 mismatch: expected {}, got {} ({} bytes); the download was deleted and nothing of '{}' "
             "was kept",
             file, source.url, *source.pin.sha256, sha, bytes, entry.name);
      fail("{} (from {}): size mismatch: expected {} bytes, got {}; the download was deleted and nothing of '{}' was kept",
           file, source.url, *source.pin.bytes, bytes, entry.name);
    }
    if (fs::exists(part, ec)) {
      fs::rename(part, done, ec);
      if (ec) fail("{}: cannot rename to {}: {}", part.string(), done.string(), ec.message());
    }
    if (!source.is_archive() || source.pin.sha256)
      std::fprintf(stderr, "%s\n", detail::verified_line(label, bytes, sha, source.pin.sha256.has_value()).c_str());
    else
      std::fprintf(stderr, "%s: %s downloaded (the archive has no pin; its members are checked)\n", label.c_str(),
                   byte_size_text(bytes).c_str());
    manifest.sources.push_back({file, bytes, sha, source.pin.sha256.has_value(), source.url, ""});
  }

  // 2. Assembled in a staging folder, then moved into place; the manifest last.
  Discarding on_error{cache, entry};
  const fs::path staging = partial / ".staging";
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  if (ec) fail("{}: cannot create the folder: {}", staging.string(), ec.message());
  for (size_t i = 0; i < entry.sources.size(); ++i) {
    const Source& source = entry.sources[i];
    const fs::path done = partial / source.download_name();
    if (source.is_archive()) {
      for (ManifestFile& f : detail::extract_members(done, source, staging, entry.name)) manifest.files.push_back(f);
      continue;
    }
    const fs::path dest = staging / source.dest;
    fs::create_directories(dest.parent_path(), ec);
    fs::rename(done, dest, ec);
    if (ec) fail("{}: cannot move to {}: {}", done.string(), dest.string(), ec.message());
    const ManifestFile& s = manifest.sources[i];
    manifest.files.push_back({source.dest, s.bytes, s.sha256, s.pinned, source.url, ""});
  }
  const std::vector<std::string> wanted = entry.kind == Kind::kBenchmark
                                              ? std::vector<std::string>{entry.splits.train, entry.splits.eval, entry.splits.fewshot}
                                              : std::vector<std::string>{entry.file};
  for (const std::string& w : wanted)
    ST_CHECK(fs::exists(staging / w, ec), "{}: the catalogue's entry names {}, which none of its sources provides",
             entry.name, w);
  fs::create_directories(folder.parent_path(), ec);
  fs::remove_all(folder, ec);
  fs::rename(staging, folder, ec);
  if (ec) fail("{}: cannot move into place as {}: {}", staging.string(), folder.string(), ec.message());
  manifest.fetched_at = utc_now();
  write_file_atomic(manifest_file.string(), manifest_to_json(manifest));
  on_error.armed = false;
  fs::remove_all(partial, ec);
  std::fprintf(stderr, "%s: fetched into %s\n", entry.name.c_str(), folder.c_str());
  return FetchOutcome::kFetched;
}

}  // namespace statetune::fetch
