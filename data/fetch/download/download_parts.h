#pragma once
// The downloader's parts (private to statetune_fetch; built with libcurl, libarchive, OpenSSL).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "statetune/fetch/cache.h"
#include "statetune/fetch/catalog.h"

namespace statetune::fetch::detail {

// Streaming sha256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void reset();
  void update(const void* data, size_t size);
  std::string hex();  // finishes; reset() before reuse
 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Hashes a file (streaming); throws naming it when it cannot be read. `bytes` gets its size.
std::string sha256_file(const std::filesystem::path& path, uint64_t* bytes = nullptr);

// Progress of one file on stderr: a '\r'-updated line on a terminal, else a line about every
// 10% or 5 s. "label: 120.3 / 364.5 MiB (33%)  11.2 MiB/s  ETA 22 s".
class Progress {
 public:
  explicit Progress(std::string label);
  void update(uint64_t now, uint64_t total);  // total 0: unknown
  void finish();                              // ends a terminal's line
 private:
  std::string line(uint64_t now, uint64_t total, double rate) const;
  std::string label_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  uint64_t start_bytes_ = 0;
  bool started_ = false, printed_ = false;
  int last_decile_ = -1;
};


// Why a download failed, so the caller knows what to keep.
enum class Failure {
  kNone,
  kCut,        // transfer broke off: the .part is kept for a resume
  kHttp,       // HTTP >= 400: nothing kept
  kLocal,      // writing the .part failed: kept
};

struct DownloadResult {
  Failure failure = Failure::kNone;
  std::string message;  // the whole error when failure != kNone
  uint64_t bytes = 0;
  std::string sha256;
};

// Downloads `url` into `part` (resuming a .part that exists with a Range request; starting
// again from zero when the server answers 200), hashing as it goes. `name` is the entry (for
// "rerun `statetune fetch NAME`"); `expected_bytes` when a pinned size is known.
struct Limits {
  long connect_timeout_s = 30;
  long stall_s = 60;
};
DownloadResult download(const std::string& url, const std::filesystem::path& part, const std::string& name,
                        const std::string& label, std::optional<uint64_t> expected_bytes, const Limits& limits);

// Extracts the members of a downloaded archive into `staging`, hashing each; verifies pinned
// ones. Throws (naming archive, member, expected and got) on a mismatch, a missing member or an
// unreadable archive. Prints a line per extracted file to stderr.
std::vector<ManifestFile> extract_members(const std::filesystem::path& archive, const Source& source,
                                          const std::filesystem::path& staging, const std::string& name);

// The line printed for a verified or recorded file.
std::string verified_line(const std::string& label, uint64_t bytes, const std::string& sha256, bool pinned);

}  // namespace statetune::fetch::detail
