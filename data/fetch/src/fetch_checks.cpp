// What fetch checks before any network activity; needs no network library.
#include <filesystem>
#include <set>
#include <system_error>

#include "statetune/common/error.h"
#include "statetune/common/output_path.h"
#include "statetune/fetch/cache.h"
#include "statetune/fetch/fetcher.h"

namespace statetune::fetch {

void prepare_cache(const std::filesystem::path& cache) {
  ST_CHECK(!cache.empty(), "fetch: no cache folder given");
  prepare_output_folder(cache.string(), "cache folder");
  prepare_output_folder((cache / ".partial").string(), "cache folder");
}

std::string unpinned_refusal(const Entry& entry, bool trust_unpinned) {
  if (trust_unpinned) return "";
  const std::vector<std::string> files = entry.unpinned();
  if (files.empty()) return "";
  std::string list;
  for (size_t i = 0; i < files.size() && i < 4; ++i) list += (i ? ", " : "") + files[i];
  if (files.size() > 4) list += fmt::format(" and {} more", files.size() - 4);
  std::set<std::string> urls;
  for (const Source& s : entry.sources) {
    bool unpinned = !s.is_archive() && !s.pin.sha256;
    for (const Member& m : s.members) unpinned = unpinned || !m.pin.sha256;
    if (unpinned) urls.insert(s.url);
  }
  std::string from;
  for (const std::string& url : urls) from += (from.empty() ? "" : ", ") + url;
  return fmt::format(
      "{}: no pinned sha256 is known for {} (from {}): this build never reached that host, so it cannot check what "
      "arrives. `statetune fetch {} --trust-unpinned` downloads it anyway, records the sha256 it observes in the "
      "manifest and prints it (trust on first use: compare it with the publisher's page)",
      entry.name, list, from, entry.name);
}

}  // namespace statetune::fetch
