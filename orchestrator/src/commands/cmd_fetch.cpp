// statetune fetch NAME...: models, benchmarks and the vocab from the catalogue into the cache,
// verified and resumable; --list shows the catalogue and what the cache holds.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>

#include "statetune/common/byte_size.h"
#include "statetune/common/error.h"
#include "statetune/common/suggestion.h"
#include "statetune/fetch/cache.h"
#include "statetune/fetch/catalog.h"
#include "statetune/fetch/fetcher.h"
#include "statetune/orchestrator/commands.h"

namespace statetune::orchestrator {
namespace {

namespace fs = std::filesystem;
using fetch::Catalog;
using fetch::Entry;

struct Options {
  std::vector<std::string> names;
  bool list = false;
  std::string cache, catalog;
  bool trust_unpinned = false;
};

constexpr int kExitUsage = 2;  // as CLI11's parse errors and unknown commands (cli.cpp)

// A whole number of seconds > 0 from the environment (STATETUNE_FETCH_STALL_SECONDS: a test's
// stalled server is given up in seconds, not a minute), else the default.
long env_seconds(const char* name, long fallback) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v <= 0) fail("{}={}: expected a whole number of seconds >= 1", name, text);
  return v;
}

std::string size_text(std::optional<uint64_t> bytes) { return bytes ? byte_size_text(*bytes) : "?"; }

void print_list(const Catalog& catalog, const fs::path& cache) {
  struct Row {
    std::string name, kind, state, pinned, size, path;
  };
  std::vector<Row> rows;
  std::set<std::string> listed;
  for (const Entry& e : catalog.entries) {
    Row row{e.name, fetch::kind_name(e.kind), fetch::entry_state_name(fetch::entry_state(cache, e)),
            e.unpinned().empty() ? "yes" : "no", size_text(e.known_bytes()), "-"};
    if (auto m = fetch::read_manifest(fetch::manifest_path(cache, e.kind, e.name))) {
      if (!m->all_pinned()) row.pinned = "recorded";
      row.size = size_text(m->total_bytes());
      const fs::path folder = fetch::entry_folder(cache, e.kind, e.name);
      row.path = (e.kind == fetch::Kind::kBenchmark ? folder : folder / m->file).string();
    }
    rows.push_back(row);
    listed.insert(e.name);
  }
  // Cached entries this catalogue does not name (fetched with another one) still resolve.
  for (fetch::Kind kind : {fetch::Kind::kBenchmark, fetch::Kind::kModel, fetch::Kind::kVocab}) {
    std::error_code ec;
    const fs::path folder = cache / fetch::kind_folder(kind);
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<std::string> extra;
    for (const auto& item : fs::directory_iterator(folder, ec)) {
      const std::string name = item.path().filename().string();
      if (listed.count(name) == 0 && fs::exists(item.path() / "fetched.json", ec)) extra.push_back(name);
    }
    std::sort(extra.begin(), extra.end());
    for (const std::string& name : extra) {
      auto m = fetch::read_manifest(fetch::manifest_path(cache, kind, name));
      const fs::path f = fetch::entry_folder(cache, kind, name);
      rows.push_back({name, fetch::kind_name(kind), "cached", m->all_pinned() ? "yes" : "recorded",
                      size_text(m->total_bytes()), (kind == fetch::Kind::kBenchmark ? f : f / m->file).string()});
    }
  }
  Row header{"NAME", "KIND", "STATE", "PINNED", "SIZE", "PATH"};
  size_t w[5] = {header.name.size(), header.kind.size(), header.state.size(), header.pinned.size(), header.size.size()};
  for (const Row& r : rows) {
    w[0] = std::max(w[0], r.name.size());
    w[1] = std::max(w[1], r.kind.size());
    w[2] = std::max(w[2], r.state.size());
    w[3] = std::max(w[3], r.pinned.size());
    w[4] = std::max(w[4], r.size.size());
  }
  std::printf("catalogue: %s\ncache: %s\n", catalog.origin.c_str(), cache.c_str());
  auto print = [&](const Row& r) {
    std::printf("%s\n", fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:>{}}  {}", r.name, w[0], r.kind, w[1], r.state, w[2],
                                    r.pinned, w[3], r.size, w[4], r.path)
                            .c_str());
  };
  print(header);
  for (const Row& r : rows) print(r);
  for (const auto& [group, members] : catalog.groups) {
    std::string list;
    for (const std::string& m : members) list += (list.empty() ? "" : ", ") + m;
    std::printf("group %s: %s\n", group.c_str(), list.c_str());
  }
}

// The entries that the names ask for, in order, each once; unknown names -> "" and `unknown`.
std::vector<const Entry*> resolve(const Catalog& catalog, const std::vector<std::string>& names,
                                  std::vector<std::string>& unknown) {
  std::vector<const Entry*> out;
  auto add = [&](const Entry* e) {
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  };
  for (const std::string& name : names) {
    if (const Entry* e = catalog.find(name)) {
      add(e);
      continue;
    }
    auto group = std::find_if(catalog.groups.begin(), catalog.groups.end(), [&](const auto& g) { return g.first == name; });
    if (group != catalog.groups.end()) {
      for (const std::string& member : group->second) add(catalog.find(member));
    } else if (name == "benchmarks" || name == "models") {  // a catalogue without groups: by kind
      const fetch::Kind kind = name == "models" ? fetch::Kind::kModel : fetch::Kind::kBenchmark;
      for (const Entry& e : catalog.entries)
        if (e.kind == kind) add(&e);
    } else {
      unknown.push_back(name);
    }
  }
  return out;
}

void run_fetch(const Options& o) {
  const Catalog catalog = fetch::active_catalog(o.catalog);
  const fs::path cache = o.cache.empty() ? fetch::cache_root() : fs::path(o.cache);
  if (o.list) {
    print_list(catalog, cache);
    return;
  }
  if (o.names.empty()) {
    std::fprintf(stderr, "statetune: error: fetch: name what to fetch (an entry, `benchmarks` or `models`), or --list to "
                         "see the catalogue\n");
    set_exit_status(kExitUsage);
    return;
  }
  std::vector<std::string> unknown;
  const std::vector<const Entry*> entries = resolve(catalog, o.names, unknown);
  if (!unknown.empty()) {
    for (const std::string& name : unknown)
      std::fprintf(stderr, "statetune: error: fetch: unknown name '%s'%s; `statetune fetch --list` shows %s\n", name.c_str(),
                   did_you_mean(name, catalog.names()).c_str(), catalog.origin.c_str());
    set_exit_status(kExitUsage);
    return;
  }
  if (!fetch::download_supported()) fail("fetch: {}", fetch::download_unsupported_reason());
  fetch::prepare_cache(cache);  // one error naming the folder, before any network activity

  // Every refusal before any download: `fetch benchmarks` does not fetch three, then stop.
  std::vector<const Entry*> refused;
  for (const Entry* e : entries)
    if (!fetch::unpinned_refusal(*e, o.trust_unpinned).empty()) refused.push_back(e);
  if (refused.size() == 1 && entries.size() == 1) fail("{}", fetch::unpinned_refusal(*refused[0], false));
  if (!refused.empty()) {
    std::string which, args;
    for (const Entry* e : refused) {
      const std::vector<std::string> files = e->unpinned();
      which += fmt::format("{}{} ({}{})", which.empty() ? "" : ", ", e->name, files[0],
                           files.size() > 1 ? fmt::format(" and {} more", files.size() - 1) : "");
    }
    for (const std::string& n : o.names) args += n + " ";
    fail("no pinned sha256 is known for files of {}: this build never reached their hosts, so it cannot check what "
         "arrives; nothing was downloaded. `statetune fetch {}--trust-unpinned` downloads them anyway, records the "
         "sha256 it observes in each manifest and prints it (trust on first use: compare with the publisher's page)",
         which, args);
  }

  fetch::FetchOptions options;
  options.cache = cache;
  options.trust_unpinned = o.trust_unpinned;
  options.catalog_origin = catalog.origin;
  options.stall_s = env_seconds("STATETUNE_FETCH_STALL_SECONDS", options.stall_s);
  options.connect_timeout_s = env_seconds("STATETUNE_FETCH_CONNECT_TIMEOUT", options.connect_timeout_s);
  if (entries.size() == 1) {
    fetch::fetch_entry(*entries[0], options);
    std::printf("%s\n", fetch::entry_folder(cache, entries[0]->kind, entries[0]->name).c_str());
    return;
  }
  std::vector<std::string> failed;  // one failure does not stop the others (no work lost)
  for (const Entry* e : entries) {
    try {
      fetch::fetch_entry(*e, options);
      std::printf("%s\n", fetch::entry_folder(cache, e->kind, e->name).c_str());
    } catch (const Error& error) {
      std::fprintf(stderr, "statetune: error: %s\n", error.what());
      failed.push_back(e->name);
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (const std::string& n : failed) list += (list.empty() ? "" : ", ") + n;
    fail("fetch: {} of {} not fetched ({}); see the errors above", failed.size(), entries.size(), list);
  }
}

}  // namespace

void add_fetch_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "fetch",
      "Download models, benchmarks and the vocab into the cache, verified by sha256 and resumable");
  sub->footer(
      "NAME is a catalogue entry (`statetune fetch --list` shows them), `benchmarks` (arc_challenge, mmlu, winogrande,\n"
      "gsm8k) or `models` (the four official RWKV-7 World .pth). Files land in CACHE/<kind>s/<name>/, and a manifest\n"
      "CACHE/<kind>s/<name>/fetched.json is written last: an entry is cached iff it exists. CACHE is --cache, else\n"
      "$STATETUNE_CACHE, else $XDG_CACHE_HOME/statetune, else ~/.cache/statetune. A cut transfer keeps its\n"
      "CACHE/.partial/<name>/<file>.part and the next run resumes it (HTTP Range); a wrong sha256 or an HTTP error\n"
      "leaves nothing of the entry. Files without a pinned sha256 in the catalogue (the model files, MMLU's CSVs,\n"
      "WinoGrande's train_xl) are refused unless --trust-unpinned, which records and prints the sha256 it observes.\n"
      "A transfer under 1 KiB/s for STATETUNE_FETCH_STALL_SECONDS (default 60) is given up, its .part kept; a host\n"
      "that does not answer in STATETUNE_FETCH_CONNECT_TIMEOUT seconds (default 30) too.\n"
      "Exit status: 0 fetched or already cached; 1 a download, check or cache error; 2 an unknown name or no name.\n"
      "The catalogue's URLs were never reached from the machine this was built on (no internet there): the\n"
      "downloader is tested against a loopback HTTP server only." +
      (fetch::download_supported() ? std::string() : "\nThis build cannot download: " + fetch::download_unsupported_reason() + "."));
  auto opts = std::make_shared<Options>();
  sub->add_option("names", opts->names, "Entries to fetch, or the groups `benchmarks`, `models`")->type_name("NAME");
  sub->add_flag("--list", opts->list,
                "Print the catalogue: name, kind, state (cached/partial/absent), pinned (yes/no/recorded), size, path");
  sub->add_option("--cache", opts->cache, "The cache folder (default: $STATETUNE_CACHE, else ~/.cache/statetune)");
  sub->add_option("--catalog", opts->catalog,
                  "A catalogue JSON file instead of the built-in one (also: STATETUNE_FETCH_CATALOG=FILE)");
  sub->add_flag("--trust-unpinned", opts->trust_unpinned,
                "Download files with no pinned sha256 too, recording (and printing) the sha256 observed");
  set_command_body(*sub, [opts] { run_fetch(*opts); });
}

}  // namespace statetune::orchestrator
