#pragma once
// The catalogue of what `statetune fetch` can download: data (data/fetch/catalog.json, compiled
// in), replaceable by a file of the same form (--catalog FILE, or STATETUNE_FETCH_CATALOG=FILE
// for programs that resolve names without a command line: configs, tests, private mirrors).
//
// An entry has a name, a kind (benchmark | model | vocab) and sources. A source is a plain file
// {url, dest, sha256|null, bytes|null} or an archive {url, format: zip|tar, sha256|null,
// members: [{from, dest, sha256|null, bytes|null}]}; a member's `from` may be a pattern with `*`
// (within one path component), whose `dest` is then a folder ("dev/") that takes each match
// under its own base name. Files land in $CACHE/<kind>s/<name>/<dest>.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace statetune::fetch {

enum class Kind { kBenchmark, kModel, kVocab };
const char* kind_name(Kind kind);    // "benchmark", "model", "vocab"
const char* kind_folder(Kind kind);  // "benchmarks", "models", "vocabs"

// A file with what is known of it beforehand: its sha256 (lower-case hex) and size, or neither.
struct Pin {
  std::optional<std::string> sha256;
  std::optional<uint64_t> bytes;
};

struct Member {
  std::string from;  // path inside the archive; '*' matches within one path component
  std::string dest;  // relative path in the entry's folder; a folder ("x/") for a pattern
  Pin pin;
  bool is_pattern() const { return from.find('*') != std::string::npos; }
};

struct Source {
  std::string url;
  std::string format;  // "" for a plain file, "zip" or "tar" for an archive
  std::string dest;    // plain file: relative path in the entry's folder
  Pin pin;             // the downloaded file itself (for an archive: the archive)
  std::vector<Member> members;  // archive only
  bool is_archive() const { return !format.empty(); }
  // The name the download has in the partial folder ("train.jsonl", "data.tar").
  std::string download_name() const;
};

struct Splits {
  std::string train, eval, fewshot;  // relative to the entry's folder (a file or a folder)
};

struct Entry {
  std::string name;
  Kind kind = Kind::kBenchmark;
  std::string description;
  std::vector<Source> sources;
  Splits splits;     // benchmarks
  std::string file;  // models and vocabs: the file that names resolve to
  // The files (and member patterns) with no known sha256: the ones --trust-unpinned is about.
  std::vector<std::string> unpinned() const;
  // The sum of the pinned sizes of what lands in the cache, when every one is known.
  std::optional<uint64_t> known_bytes() const;
};

struct Catalog {
  std::string origin;  // the file it came from, or "the built-in catalogue"
  std::vector<Entry> entries;
  // Named groups ("benchmarks", "models"): names of entries.
  std::vector<std::pair<std::string, std::vector<std::string>>> groups;

  const Entry* find(std::string_view name) const;
  std::vector<std::string> names() const;  // entries and groups
};

// Parses a catalogue; errors name `origin` and the entry/key at fault.
Catalog parse_catalog(std::string_view json_text, const std::string& origin);
// Reads and parses a catalogue file.
Catalog load_catalog_file(const std::string& path);
// The one compiled into this binary (data/fetch/catalog.json).
const Catalog& builtin_catalog();
// `override_path` when given, else $STATETUNE_FETCH_CATALOG when set, else the built-in one.
Catalog active_catalog(const std::string& override_path = "");

}  // namespace statetune::fetch
