#include "statetune/fetch/catalog.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune::fetch {
namespace detail {
std::string_view builtin_catalog_json();  // generated from catalog.json
}  // namespace detail

namespace {

using nlohmann::json;

const char* kKinds[] = {"benchmark", "model", "vocab"};

// Reads key `key` of `object` as a string; `where` names the place for the error.
std::string need_string(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end()) fail("{}: missing \"{}\"", where, key);
  if (!it->is_string() || it->get<std::string>().empty()) fail("{}: \"{}\" must be a non-empty string", where, key);
  return it->get<std::string>();
}

std::string optional_string(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return "";
  if (!it->is_string()) fail("{}: \"{}\" must be a string", where, key);
  return it->get<std::string>();
}

Pin read_pin(const json& object, const std::string& where) {
  Pin pin;
  if (auto it = object.find("sha256"); it != object.end() && !it->is_null()) {
    if (!it->is_string()) fail("{}: \"sha256\" must be 64 hex digits or null", where);
    std::string hex = it->get<std::string>();
    std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c); });
    if (!ok) fail("{}: \"sha256\" must be 64 hex digits or null, got \"{}\"", where, it->get<std::string>());
    pin.sha256 = hex;
  }
  if (auto it = object.find("bytes"); it != object.end() && !it->is_null()) {
    if (!it->is_number_unsigned()) fail("{}: \"bytes\" must be a whole number >= 0 or null", where);
    pin.bytes = it->get<uint64_t>();
  }
  return pin;
}

// A path inside the entry's folder: relative, no "..", no empty components.
void check_relative(const std::string& path, const std::string& where, const char* key) {
  bool ok = !path.empty() && path[0] != '/';
  size_t start = 0;
  while (ok && start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == ".." || part == "." || (part.empty() && end != path.size())) ok = false;
    start = end + 1;
  }
  if (!ok) fail("{}: \"{}\" must be a relative path inside the entry's folder, got \"{}\"", where, key, path);
}

Source read_source(const json& s, const std::string& where) {
  if (!s.is_object()) fail("{}: expected an object", where);
  Source source;
  source.url = need_string(s, "url", where);
  source.pin = read_pin(s, where);
  source.format = optional_string(s, "format", where);
  if (source.format.empty()) {
    source.dest = need_string(s, "dest", where);
    check_relative(source.dest, where, "dest");
    ST_CHECK(s.find("members") == s.end(), "{}: \"members\" needs \"format\": \"zip\" or \"tar\"", where);
    return source;
  }
  if (source.format != "zip" && source.format != "tar")
    fail("{}: \"format\" must be \"zip\" or \"tar\", got \"{}\"", where, source.format);
  const auto members = s.find("members");
  if (members == s.end() || !members->is_array() || members->empty())
    fail("{}: an archive needs \"members\": a non-empty list of {{from, dest, sha256}}", where);
  for (size_t i = 0; i < members->size(); ++i) {
    const json& m = (*members)[i];
    const std::string mw = fmt::format("{}: members[{}]", where, i);
    if (!m.is_object()) fail("{}: expected an object", mw);
    Member member;
    member.from = need_string(m, "from", mw);
    member.dest = need_string(m, "dest", mw);
    member.pin = read_pin(m, mw);
    if (member.is_pattern()) {
      ST_CHECK(member.dest.back() == '/', "{}: the pattern \"{}\" needs a folder as \"dest\" (ending in '/'), got \"{}\"",
               mw, member.from, member.dest);
      ST_CHECK(!member.pin.sha256, "{}: the pattern \"{}\" matches many files; it cannot pin one sha256", mw, member.from);
      check_relative(member.dest.substr(0, member.dest.size() - 1), mw, "dest");
    } else {
      check_relative(member.dest, mw, "dest");
    }
    source.members.push_back(member);
  }
  return source;
}

Entry read_entry(const json& e, const std::string& where_in) {
  if (!e.is_object()) fail("{}: expected an object", where_in);
  Entry entry;
  entry.name = need_string(e, "name", where_in);
  const std::string where = fmt::format("{} ({})", where_in, entry.name);
  const bool name_ok = std::all_of(entry.name.begin(), entry.name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  }) && entry.name[0] != '.';
  ST_CHECK(name_ok, "{}: \"name\" may hold letters, digits, '-', '_' and '.' only (it names a folder)", where);
  const std::string kind = need_string(e, "kind", where);
  if (kind == "benchmark") entry.kind = Kind::kBenchmark;
  else if (kind == "model") entry.kind = Kind::kModel;
  else if (kind == "vocab") entry.kind = Kind::kVocab;
  else fail("{}: \"kind\" must be benchmark, model or vocab, got \"{}\"", where, kind);
  entry.description = optional_string(e, "description", where);
  const auto sources = e.find("sources");
  if (sources == e.end() || !sources->is_array() || sources->empty()) fail("{}: \"sources\" must be a non-empty list", where);
  for (size_t i = 0; i < sources->size(); ++i)
    entry.sources.push_back(read_source((*sources)[i], fmt::format("{}: sources[{}]", where, i)));
  if (entry.kind == Kind::kBenchmark) {
    const auto splits = e.find("splits");
    if (splits == e.end() || !splits->is_object()) fail("{}: a benchmark needs \"splits\": {{train, eval, fewshot}}", where);
    const std::string sw = where + ": splits";
    entry.splits.train = need_string(*splits, "train", sw);
    entry.splits.eval = need_string(*splits, "eval", sw);
    entry.splits.fewshot = need_string(*splits, "fewshot", sw);
    for (const std::string* p : {&entry.splits.train, &entry.splits.eval, &entry.splits.fewshot}) check_relative(*p, sw, "split");
  } else {
    entry.file = need_string(e, "file", where);
    check_relative(entry.file, where, "file");
  }
  return entry;
}

}  // namespace

const char* kind_name(Kind kind) { return kKinds[static_cast<int>(kind)]; }

const char* kind_folder(Kind kind) {
  switch (kind) {
    case Kind::kBenchmark: return "benchmarks";
    case Kind::kModel: return "models";
    case Kind::kVocab: return "vocabs";
  }
  return "?";
}

std::string Source::download_name() const {
  if (!is_archive()) {
    std::string name = dest;
    std::replace(name.begin(), name.end(), '/', '_');
    return name;
  }
  std::string path = url.substr(0, url.find_first_of("?#"));
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") name = "archive";
  return name;
}

std::vector<std::string> Entry::unpinned() const {
  std::vector<std::string> out;
  for (const Source& s : sources) {
    if (!s.is_archive()) {
      if (!s.pin.sha256) out.push_back(s.dest);
      continue;
    }
    for (const Member& m : s.members)
      if (!m.pin.sha256) out.push_back(m.is_pattern() ? m.from : m.dest);
  }
  return out;
}

std::optional<uint64_t> Entry::known_bytes() const {
  uint64_t total = 0;
  for (const Source& s : sources) {
    if (!s.is_archive()) {
      if (!s.pin.bytes) return std::nullopt;
      total += *s.pin.bytes;
      continue;
    }
    for (const Member& m : s.members) {
      if (!m.pin.bytes) return std::nullopt;
      total += *m.pin.bytes;
    }
  }
  return total;
}

const Entry* Catalog::find(std::string_view name) const {
  for (const Entry& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<std::string> Catalog::names() const {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.name);
  for (const auto& group : groups) out.push_back(group.first);
  return out;
}

Catalog parse_catalog(std::string_view json_text, const std::string& origin) {
  json root;
  try {
    root = json::parse(json_text.begin(), json_text.end());
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON: {}", origin, e.what());
  }
  if (!root.is_object()) fail("{}: expected a JSON object with \"entries\"", origin);
  const auto entries = root.find("entries");
  if (entries == root.end() || !entries->is_array()) fail("{}: missing \"entries\": a list of entries", origin);
  Catalog catalog;
  catalog.origin = origin;
  for (size_t i = 0; i < entries->size(); ++i) {
    Entry entry = read_entry((*entries)[i], fmt::format("{}: entries[{}]", origin, i));
    ST_CHECK(catalog.find(entry.name) == nullptr, "{}: entries[{}]: the name '{}' is used twice", origin, i, entry.name);
    catalog.entries.push_back(std::move(entry));
  }
  if (auto groups = root.find("groups"); groups != root.end()) {
    if (!groups->is_object()) fail("{}: \"groups\" must map a name to a list of entry names", origin);
    for (const auto& [group, members] : groups->items()) {
      ST_CHECK(catalog.find(group) == nullptr, "{}: groups: '{}' is also an entry's name", origin, group);
      if (!members.is_array()) fail("{}: groups: \"{}\" must be a list of entry names", origin, group);
      std::vector<std::string> names;
      for (const json& m : members) {
        if (!m.is_string() || catalog.find(m.get<std::string>()) == nullptr)
          fail("{}: groups: \"{}\" names {}, which is not an entry", origin, group, m.dump());
        names.push_back(m.get<std::string>());
      }
      catalog.groups.emplace_back(group, std::move(names));
    }
  }
  return catalog;
}

Catalog load_catalog_file(const std::string& path) { return parse_catalog(read_file_bytes(path), path); }

const Catalog& builtin_catalog() {
  static const Catalog catalog = parse_catalog(detail::builtin_catalog_json(), "the built-in catalogue");
  return catalog;
}

Catalog active_catalog(const std::string& override_path) {
  if (!override_path.empty()) return load_catalog_file(override_path);
  if (const char* env = std::getenv("STATETUNE_FETCH_CATALOG"); env != nullptr && *env != '\0') {
    try {
      return load_catalog_file(env);
    } catch (const Error& e) {
      fail("STATETUNE_FETCH_CATALOG: {}", e.what());
    }
  }
  return builtin_catalog();
}

}  // namespace statetune::fetch
