#include "journal.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/hash.h"

namespace statetune::results::detail {

namespace {

using nlohmann::json;

// JSON has no NaN: a missing value is null.
json number_or_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
double number_or_nan(const json& v) { return v.is_null() ? kMissing : v.get<double>(); }

void apply(Catalog& catalog, const json& record, CatalogDetail detail) {
  if (record.contains("declare")) {
    const std::string hash = record.at("declare").get<std::string>();
    if (catalog.runs.count(hash) == 0) catalog.declared.push_back(hash);
    CatalogEntry& entry = catalog.runs[hash];
    entry.info.description.hash = hash;
    entry.info.description.method = record.at("method").get<std::string>();
    entry.fingerprint = record.at("fingerprint").get<std::string>();
    entry.info.status = RunStatus::kPending;
    for (const auto& [key, value] : record.at("config").items()) catalog.config_chain[key] = value.get<std::string>();
    if (const auto unset = record.find("unset"); unset != record.end()) {
      for (const auto& key : *unset) catalog.config_chain.erase(key.get<std::string>());
    }
    if (detail == CatalogDetail::kFull) {
      entry.info.description.axes = record.at("axes").get<std::map<std::string, std::string>>();
      entry.info.description.config = catalog.config_chain;
    }
  } else if (record.contains("run")) {
    const std::string hash = record.at("run").get<std::string>();
    auto found = catalog.runs.find(hash);
    if (found == catalog.runs.end()) fail("run {} has a status record before its declaration", hash);
    RunInfo& info = found->second.info;
    info.status = parse_run_status(record.at("status").get<std::string>(), "status of run " + hash);
    info.attempts = record.at("attempts").get<std::int64_t>();
    info.started = record.at("started").get<std::string>();
    info.finished = record.at("finished").get<std::string>();
    info.wall_seconds = number_or_nan(record.at("wall_seconds"));
    info.ranks = record.at("ranks").get<std::int64_t>();
    info.host = record.at("host").get<std::string>();
    info.message = record.at("message").get<std::string>();
    info.tuned_state_path = record.at("tuned_state_path").get<std::string>();
    info.baseline = record.value("baseline", std::string());
    found->second.has_summary = record.contains("summary");
    found->second.summary.clear();
    if (found->second.has_summary && detail == CatalogDetail::kFull) {
      for (const json& row : record.at("summary")) {
        found->second.summary.push_back({row.at(0).get<std::string>(), number_or_nan(row.at(1)), number_or_nan(row.at(2))});
      }
    }
  } else {
    fail("a record that is neither 'declare' nor 'run'");
  }
  catalog.last_time = record.at("time").get<std::string>();
}

}  // namespace

Catalog read_catalog(const std::string& path, CatalogDetail detail) {
  if (::access(path.c_str(), F_OK) != 0) fail("{}: missing (the study journal; is the study's .runs folder whole?)", path);
  const std::string bytes = read_file_bytes(path);
  Catalog catalog;
  std::size_t line_number = 0, begin = 0;
  while (begin < bytes.size()) {
    const std::size_t end = bytes.find('\n', begin);
    if (end == std::string::npos) break;  // a torn last line: the append never finished
    ++line_number;
    try {
      apply(catalog, json::parse(bytes.begin() + static_cast<std::ptrdiff_t>(begin),
                                 bytes.begin() + static_cast<std::ptrdiff_t>(end)),
            detail);
    } catch (const std::exception& e) {
      fail("{}: line {}: not a journal record: {}", path, line_number, e.what());
    }
    begin = end + 1;
  }
  catalog.whole_bytes = begin;
  return catalog;
}

std::string canonical_fingerprint(const std::string& canonical_text) { return hex16(fnv1a64(canonical_text)); }

std::string declare_line(const RunDescription& d, const std::string& time, ConfigChain& chain) {
  json changed = json::object(), unset = json::array();
  for (const auto& [key, value] : d.config) {
    const auto found = chain.find(key);
    if (found == chain.end() || found->second != value) changed[key] = value;
  }
  for (const auto& [key, value] : chain) {
    if (d.config.count(key) == 0) unset.push_back(key);
  }
  chain = d.config;
  json record = {{"declare", d.hash},
                 {"method", d.method},
                 {"fingerprint", canonical_fingerprint(d.canonical_text)},
                 {"axes", d.axes},
                 {"config", std::move(changed)},
                 {"time", time}};
  if (!unset.empty()) record["unset"] = std::move(unset);
  return record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string run_line(const RunInfo& info, const std::vector<EvalMetric>* summary, const std::string& time) {
  json record = {{"run", info.description.hash},
                 {"status", std::string(to_string(info.status))},
                 {"attempts", info.attempts},
                 {"started", info.started},
                 {"finished", info.finished},
                 {"wall_seconds", number_or_null(info.wall_seconds)},
                 {"ranks", info.ranks},
                 {"host", info.host},
                 {"message", info.message},
                 {"tuned_state_path", info.tuned_state_path},
                 {"baseline", info.baseline},
                 {"time", time}};
  if (summary != nullptr) {
    json rows = json::array();
    for (const auto& m : *summary) rows.push_back({m.name, number_or_null(m.before), number_or_null(m.after)});
    record["summary"] = std::move(rows);
  }
  // Messages may hold any bytes (an error's text): replace invalid UTF-8 rather than throw.
  return record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

void truncate_to_whole_lines(const std::string& path, std::size_t whole_bytes) {
  if (::truncate(path.c_str(), static_cast<off_t>(whole_bytes)) != 0) {
    fail("{}: cannot cut off a torn last line: {}", path, std::strerror(errno));
  }
}

}  // namespace statetune::results::detail
