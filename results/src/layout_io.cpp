#include "layout_io.h"

#include <sstream>

#include "clock_host.h"
#include "h5_io.h"
#include "layout_names.h"
#include "statetune/common/error.h"
#include "statetune/results/layout.h"

namespace statetune::results::detail {

void write_new_header(const std::string& path, hid_t file, const StudyInfo& info) {
  const std::string now = utc_now_iso();
  write_attr(path, file, names::kFormatVersion, kFormatVersion);
  write_attr(path, file, names::kStudyName, info.name);
  write_attr(path, file, names::kSweepYaml, info.sweep_yaml);
  write_attr(path, file, names::kStatetuneVersion, info.statetune_version);
  write_attr(path, file, names::kCreated, now);
  write_attr(path, file, names::kUpdated, now);
  create_group(path, file, names::kStudyGroup);
  create_group(path, file, names::kRunsGroup);
}

StudyHeader read_header(const std::string& path, hid_t file) {
  if (!attr_exists(path, file, names::kFormatVersion) || !link_exists(path, file, names::kRunsGroup)) {
    fail("{}: not a statetune study file (no format_version attribute or /runs group)", path);
  }
  StudyHeader header;
  header.format_version = read_int_attr(path, file, names::kFormatVersion, "/");
  if (header.format_version > kFormatVersion) {
    fail("{}: study format version {} is newer than this statetune understands ({}); use a newer statetune", path,
         header.format_version, kFormatVersion);
  }
  header.info.name = read_string_attr(path, file, names::kStudyName, "/");
  header.info.sweep_yaml = read_string_attr(path, file, names::kSweepYaml, "/");
  header.info.statetune_version = read_string_attr(path, file, names::kStatetuneVersion, "/");
  header.created = read_string_attr(path, file, names::kCreated, "/");
  header.updated = read_string_attr(path, file, names::kUpdated, "/");
  if (link_exists(path, file, names::kStudyGroup)) {
    Handle study = open_group(path, file, names::kStudyGroup);
    header.attributes = read_string_attrs(path, study.get(), "/study");
  }
  return header;
}

void touch_updated(const std::string& path, hid_t file) { write_attr(path, file, names::kUpdated, utc_now_iso()); }

void check_run_hash(const std::string& path, const std::string& hash) {
  bool ok = !hash.empty();
  for (char c : hash) {
    const bool allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
    ok = ok && allowed;
  }
  if (!ok) fail("{}: invalid run hash '{}' (expected letters, digits, '_' or '-')", path, hash);
}

void write_run_description(const std::string& path, hid_t run, const RunDescription& d) {
  write_attr(path, run, names::kStatus, std::string(to_string(RunStatus::kPending)));
  write_attr(path, run, names::kConfigYaml, d.config_yaml);
  write_attr(path, run, names::kCanonicalText, d.canonical_text);
  write_attr(path, run, names::kMethod, d.method);
  write_attr(path, run, names::kAttempts, std::int64_t{0});
  write_attr(path, run, names::kStarted, std::string());
  write_attr(path, run, names::kFinished, std::string());
  write_attr(path, run, names::kWallSeconds, kMissing);
  write_attr(path, run, names::kRanks, std::int64_t{0});
  write_attr(path, run, names::kHost, std::string());
  write_attr(path, run, names::kMessage, std::string());
  write_attr(path, run, names::kTunedStatePath, std::string());
  Handle axes = create_group(path, run, names::kAxesGroup);
  for (const auto& [key, value] : d.axes) write_attr(path, axes.get(), key, value);
  Handle config = create_group(path, run, names::kConfigGroup);
  for (const auto& [key, value] : d.config) write_attr(path, config.get(), key, value);
}

void write_run_progress(const std::string& path, hid_t run, const RunInfo& info) {
  write_attr(path, run, names::kAttempts, info.attempts);
  write_attr(path, run, names::kStarted, info.started);
  write_attr(path, run, names::kFinished, info.finished);
  write_attr(path, run, names::kWallSeconds, info.wall_seconds);
  write_attr(path, run, names::kRanks, info.ranks);
  write_attr(path, run, names::kHost, info.host);
  write_attr(path, run, names::kMessage, info.message);
  write_attr(path, run, names::kTunedStatePath, info.tuned_state_path);
  write_attr(path, run, names::kBaseline, info.baseline);
  write_attr(path, run, names::kStatus, std::string(to_string(info.status)));
}

RunStatus read_run_status(const std::string& path, hid_t run, const std::string& hash) {
  const std::string where = "/runs/" + hash;
  return parse_run_status(read_string_attr(path, run, names::kStatus, where), path + ": " + where);
}

std::string read_canonical_text(const std::string& path, hid_t run, const std::string& hash) {
  return read_string_attr(path, run, names::kCanonicalText, "/runs/" + hash);
}

RunInfo read_run_info(const std::string& path, hid_t run, const std::string& hash) {
  const std::string where = "/runs/" + hash;
  RunInfo info;
  info.description.hash = hash;
  info.description.config_yaml = read_string_attr(path, run, names::kConfigYaml, where);
  info.description.canonical_text = read_string_attr(path, run, names::kCanonicalText, where);
  info.description.method = read_string_attr(path, run, names::kMethod, where);
  if (link_exists(path, run, names::kAxesGroup)) {
    Handle axes = open_group(path, run, names::kAxesGroup);
    info.description.axes = read_string_attrs(path, axes.get(), where + "/axes");
  }
  if (link_exists(path, run, names::kConfigGroup)) {
    Handle config = open_group(path, run, names::kConfigGroup);
    info.description.config = read_string_attrs(path, config.get(), where + "/config");
  }
  info.status = read_run_status(path, run, hash);
  info.attempts = read_int_attr(path, run, names::kAttempts, where);
  info.started = read_string_attr(path, run, names::kStarted, where);
  info.finished = read_string_attr(path, run, names::kFinished, where);
  info.wall_seconds = read_double_attr(path, run, names::kWallSeconds, where);
  info.ranks = read_int_attr(path, run, names::kRanks, where);
  info.host = read_string_attr(path, run, names::kHost, where);
  info.message = read_string_attr(path, run, names::kMessage, where);
  info.tuned_state_path = read_string_attr(path, run, names::kTunedStatePath, where);
  if (attr_exists(path, run, names::kBaseline)) info.baseline = read_string_attr(path, run, names::kBaseline, where);
  return info;
}

void fail_conflicting_config(const std::string& where, const std::string& hash, const std::string& stored,
                             const std::string& given) {
  std::istringstream a(stored), b(given);
  std::string line_a, line_b;
  int line = 0;
  while (true) {
    ++line;
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a) line_a = "<end>";
    if (!more_b) line_b = "<end>";
    if (line_a != line_b || (!more_a && !more_b)) break;
  }
  fail("{}: conflicting duplicate run {}: same hash, different canonical config (line {}: '{}' vs '{}')", where, hash,
       line, line_a, line_b);
}

}  // namespace statetune::results::detail
