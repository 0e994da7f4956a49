#pragma once
// Downloading a catalogue entry into the cache: verified (sha256), resumable (HTTP Range),
// locked per entry, and all-or-nothing (the manifest is written last). libcurl, libarchive and
// OpenSSL do the work; a build without them has download_supported() == false and fetch_entry
// throws saying so.
#include <filesystem>
#include <string>

#include "statetune/fetch/catalog.h"

namespace statetune::fetch {

bool download_supported();
// What this build lacks, for messages ("" when download_supported()).
std::string download_unsupported_reason();

struct FetchOptions {
  std::filesystem::path cache;
  bool trust_unpinned = false;  // download files without a pinned sha256, recording theirs
  std::string catalog_origin;   // recorded in the manifest
  long connect_timeout_s = 30;  // giving up on a host that does not answer
  long stall_s = 60;            // a transfer under 1 KiB/s for this long is given up (its .part kept)
};

enum class FetchOutcome { kFetched, kAlreadyCached };

// Fetches one entry. Refuses (before any network activity) an unwritable cache and, without
// trust_unpinned, an entry with unpinned files. Progress and a line per file go to stderr.
// Throws statetune::Error naming the URL / file and what went wrong.
FetchOutcome fetch_entry(const Entry& entry, const FetchOptions& options);

// Checks, creating what is missing, that the cache (and its .partial folder) can take files;
// throws naming the folder otherwise. Needs no network library.
void prepare_cache(const std::filesystem::path& cache);

// The error fetch_entry gives for an entry with unpinned files, or "" when trust_unpinned or
// every file is pinned.
std::string unpinned_refusal(const Entry& entry, bool trust_unpinned);

}  // namespace statetune::fetch
