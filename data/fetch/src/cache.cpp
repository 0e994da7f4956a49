#include "statetune/fetch/cache.h"

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <system_error>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune::fetch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

fs::path absolute_of(const fs::path& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  return ec ? path : abs.lexically_normal();
}

[[noreturn]] void not_cached(std::string_view what, std::string_view name, const fs::path& cache) {
  fail("{} '{}' is not in the cache {}: run `statetune fetch {}`", what, name, absolute_of(cache).string(), name);
}

// The manifest's file must still be there; a cache tidied by hand gets told how to repair it.
std::string existing_file(const fs::path& folder, const std::string& relative, std::string_view name,
                          const fs::path& manifest) {
  const fs::path path = absolute_of(folder / relative);
  if (!path_exists(path))
    fail("{}: lists {}, which is missing: run `statetune fetch {}` to fetch it again", manifest.string(), path.string(), name);
  return path.string();
}

Kind parse_kind(const std::string& text, const std::string& where) {
  for (Kind k : {Kind::kBenchmark, Kind::kModel, Kind::kVocab})
    if (text == kind_name(k)) return k;
  fail("{}: \"kind\" must be benchmark, model or vocab, got \"{}\"", where, text);
}

}  // namespace

fs::path cache_root() {
  if (const std::string cache = env_or_empty("STATETUNE_CACHE"); !cache.empty()) return cache;
  if (const std::string xdg = env_or_empty("XDG_CACHE_HOME"); !xdg.empty()) return fs::path(xdg) / "statetune";
  const std::string home = env_or_empty("HOME");
  ST_CHECK(!home.empty(), "no cache folder: set STATETUNE_CACHE (or HOME, or XDG_CACHE_HOME)");
  return fs::path(home) / ".cache" / "statetune";
}

fs::path entry_folder(const fs::path& cache, Kind kind, std::string_view name) {
  return cache / kind_folder(kind) / std::string(name);
}

fs::path manifest_path(const fs::path& cache, Kind kind, std::string_view name) {
  return entry_folder(cache, kind, name) / "fetched.json";
}

fs::path partial_folder(const fs::path& cache, std::string_view name) { return cache / ".partial" / std::string(name); }

bool Manifest::all_pinned() const {
  for (const ManifestFile& f : files)
    if (!f.pinned) return false;
  return true;
}

uint64_t Manifest::total_bytes() const {
  uint64_t total = 0;
  for (const ManifestFile& f : files) total += f.bytes;
  return total;
}

std::string manifest_to_json(const Manifest& m) {
  auto list = [](const std::vector<ManifestFile>& items, bool with_path) {
    json out = json::array();
    for (const ManifestFile& f : items) {
      json one = {{"url", f.source}, {"bytes", f.bytes}, {"sha256", f.sha256}, {"sha256_was", f.pinned ? "pinned" : "recorded"}};
      if (with_path) {
        one["path"] = f.path;
        if (!f.member.empty()) one["member"] = f.member;
      } else {
        one["file"] = f.path;
      }
      out.push_back(one);
    }
    return out;
  };
  const json files = list(m.files, true), sources = list(m.sources, false);
  json root = {{"name", m.name},
               {"kind", kind_name(m.kind)},
               {"fetched_at", m.fetched_at},
               {"catalog", m.catalog},
               {"sources", sources},
               {"files", files}};
  if (m.kind == Kind::kBenchmark) {
    root["splits"] = {{"train", m.splits.train}, {"eval", m.splits.eval}, {"fewshot", m.splits.fewshot}};
  } else {
    root["file"] = m.file;
  }
  return root.dump(2) + "\n";
}

std::optional<Manifest> read_manifest(const fs::path& path) {
  if (!path_exists(path)) return std::nullopt;
  const std::string where = path.string();
  json root;
  try {
    root = json::parse(read_file_bytes(where));
  } catch (const json::exception& e) {
    fail("{}: not a valid manifest ({}); run `statetune fetch` on it again", where, e.what());
  }
  try {
    Manifest m;
    m.name = root.at("name").get<std::string>();
    m.kind = parse_kind(root.at("kind").get<std::string>(), where);
    m.fetched_at = root.value("fetched_at", "");
    m.catalog = root.value("catalog", "");
    auto read_list = [](const json& items, const char* path_key) {
      std::vector<ManifestFile> out;
      for (const json& f : items) {
        ManifestFile file;
        file.path = f.at(path_key).get<std::string>();
        file.bytes = f.value("bytes", uint64_t{0});
        file.sha256 = f.value("sha256", "");
        file.pinned = f.value("sha256_was", "") == "pinned";
        file.source = f.value("url", "");
        file.member = f.value("member", "");
        out.push_back(file);
      }
      return out;
    };
    m.files = read_list(root.at("files"), "path");
    if (root.contains("sources")) m.sources = read_list(root.at("sources"), "file");
    if (m.kind == Kind::kBenchmark) {
      const json& s = root.at("splits");
      m.splits = {s.at("train").get<std::string>(), s.at("eval").get<std::string>(), s.at("fewshot").get<std::string>()};
    } else {
      m.file = root.at("file").get<std::string>();
    }
    return m;
  } catch (const json::exception& e) {
    fail("{}: not a valid manifest ({}); run `statetune fetch` on it again", where, e.what());
  }
}

std::optional<Manifest> find_manifest(const fs::path& cache, std::string_view name, fs::path* where) {
  for (Kind kind : {Kind::kBenchmark, Kind::kModel, Kind::kVocab}) {
    const fs::path path = manifest_path(cache, kind, name);
    if (auto m = read_manifest(path)) {
      if (where != nullptr) *where = path;
      return m;
    }
  }
  return std::nullopt;
}

BenchmarkFiles fetched_benchmark(std::string_view name, const fs::path& cache) {
  const fs::path path = manifest_path(cache, Kind::kBenchmark, name);
  const std::optional<Manifest> m = read_manifest(path);
  if (!m) {
    fs::path other;
    if (auto found = find_manifest(cache, name, &other))
      fail("'{}' is a {}, not a benchmark (cached at {})", name, kind_name(found->kind), other.parent_path().string());
    not_cached("benchmark", name, cache);
  }
  const fs::path folder = path.parent_path();
  return {existing_file(folder, m->splits.train, name, path), existing_file(folder, m->splits.eval, name, path),
          existing_file(folder, m->splits.fewshot, name, path)};
}

std::string fetched_file(std::string_view name, const fs::path& cache) {
  fs::path path;
  const std::optional<Manifest> m = find_manifest(cache, name, &path);
  if (!m) {
    std::string what = "model or vocab";
    try {
      if (const Entry* e = active_catalog().find(name)) what = kind_name(e->kind);
    } catch (const Error&) {
      // a broken STATETUNE_FETCH_CATALOG: the message below is still right
    }
    not_cached(what, name, cache);
  }
  if (m->kind == Kind::kBenchmark)
    fail("'{}' is a benchmark, whose files are its splits (train, eval, fewshot), not one file", name);
  return existing_file(path.parent_path(), m->file, name, path);
}

bool is_known_name(std::string_view name) {
  if (active_catalog().find(name) != nullptr) return true;
  try {
    return find_manifest(cache_root(), name).has_value();
  } catch (const Error&) {
    return false;  // no cache folder, or a broken manifest: not a name one can use
  }
}

const char* entry_state_name(EntryState state) {
  switch (state) {
    case EntryState::kAbsent: return "absent";
    case EntryState::kPartial: return "partial";
    case EntryState::kCached: return "cached";
  }
  return "?";
}

EntryState entry_state(const fs::path& cache, const Entry& entry) {
  if (path_exists(manifest_path(cache, entry.kind, entry.name))) return EntryState::kCached;
  if (path_exists(partial_folder(cache, entry.name)) || path_exists(entry_folder(cache, entry.kind, entry.name)))
    return EntryState::kPartial;
  return EntryState::kAbsent;
}

}  // namespace statetune::fetch
