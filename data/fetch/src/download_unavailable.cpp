// The stand-in for builds without libcurl, libarchive or OpenSSL (see fetcher.h); download/ has
// the real downloader. Name resolution (cache.h) and `fetch --list` work either way.
#ifndef STATETUNE_FETCH_WITH_DOWNLOAD
#include "statetune/common/error.h"
#include "statetune/fetch/fetcher.h"

namespace statetune::fetch {

bool download_supported() { return false; }

std::string download_unsupported_reason() {
  return "this statetune was built without download support (CMake did not find libcurl, libarchive and OpenSSL's "
         "libcrypto; on Debian: apt-get install libcurl4-openssl-dev libarchive-dev libssl-dev, then rebuild). "
         "Names of what is already in the cache still resolve, and `statetune fetch --list` works";
}

FetchOutcome fetch_entry(const Entry& entry, const FetchOptions&) {
  fail("cannot fetch '{}': {}", entry.name, download_unsupported_reason());
}

}  // namespace statetune::fetch
#endif
