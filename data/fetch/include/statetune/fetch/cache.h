#pragma once
// Where fetched models and benchmarks live, and name -> path resolution for configs. Needs no
// network library: a build without download support still resolves what is in the cache.
//
// Layout under the cache root:
//   <root>/benchmarks/<name>/...         e.g. benchmarks/gsm8k/train.jsonl
//   <root>/models/<name>/<file>          e.g. models/rwkv7-world-0.1b/RWKV-x070-...pth
//   <root>/vocabs/<name>/<file>
//   <root>/<kind>s/<name>/fetched.json   the manifest, written last: an entry is cached iff it exists
//   <root>/.partial/<name>/...           downloads in progress (<file>.part, resumable)
//   <root>/.partial/<name>.lock          held (flock) while a fetch of <name> runs
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "statetune/fetch/catalog.h"

namespace statetune::fetch {

// $STATETUNE_CACHE, else $XDG_CACHE_HOME/statetune when set, else $HOME/.cache/statetune.
std::filesystem::path cache_root();

struct BenchmarkFiles {
  std::string train, eval, fewshot;  // absolute paths (files, or folders for MMLU)
};

// Reads <cache>/benchmarks/<name>/fetched.json. Not fetched -> statetune::Error
// "benchmark 'arc_challenge' is not in the cache <dir>: run `statetune fetch arc_challenge`".
BenchmarkFiles fetched_benchmark(std::string_view name, const std::filesystem::path& cache = cache_root());

// A model or vocab by catalogue name -> the absolute path of its file; the same kind of error
// when it is not fetched.
std::string fetched_file(std::string_view name, const std::filesystem::path& cache = cache_root());

// In the active catalogue (STATETUNE_FETCH_CATALOG or the built-in one), or cached with a
// manifest under cache_root().
bool is_known_name(std::string_view name);

// ---- what `fetch` and `fetch --list` use ------------------------------------------------

std::filesystem::path entry_folder(const std::filesystem::path& cache, Kind kind, std::string_view name);
std::filesystem::path manifest_path(const std::filesystem::path& cache, Kind kind, std::string_view name);
std::filesystem::path partial_folder(const std::filesystem::path& cache, std::string_view name);

// One file as the manifest records it.
struct ManifestFile {
  std::string path;    // relative to the entry's folder (for a source: the downloaded file's name)
  uint64_t bytes = 0;
  std::string sha256;  // as observed
  bool pinned = false; // true: matched the catalogue's pin; false: recorded on first use
  std::string source;  // the URL it came from
  std::string member;  // the path inside that archive ("" for a plain file)
};

struct Manifest {
  std::string name;
  Kind kind = Kind::kBenchmark;
  std::string fetched_at;  // UTC, ISO 8601
  std::string catalog;     // the catalogue it was fetched by
  std::vector<ManifestFile> sources;  // what was downloaded (an archive's own sha256 included)
  std::vector<ManifestFile> files;    // what landed in the entry's folder
  Splits splits;
  std::string file;
  bool all_pinned() const;
  uint64_t total_bytes() const;
};

std::string manifest_to_json(const Manifest& manifest);
// Reads a manifest; nullopt when the file does not exist; throws naming it when it is malformed.
std::optional<Manifest> read_manifest(const std::filesystem::path& path);
// The manifest of `name` under any kind's folder (the catalogue may not know the name).
std::optional<Manifest> find_manifest(const std::filesystem::path& cache, std::string_view name,
                                      std::filesystem::path* where = nullptr);

enum class EntryState { kAbsent, kPartial, kCached };
const char* entry_state_name(EntryState state);
EntryState entry_state(const std::filesystem::path& cache, const Entry& entry);

}  // namespace statetune::fetch
