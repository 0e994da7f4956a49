#pragma once
// The root and the run attributes of layout.h, shared by the writer, the reader and merge.
#include <hdf5.h>

#include <string>

#include "statetune/results/records.h"

namespace statetune::results::detail {

// Creates /study and /runs and the root attributes of a new study.
void write_new_header(const std::string& path, hid_t file, const StudyInfo& info);
// Reads and validates the root: a file without format_version is "not a statetune study
// file"; a newer format_version is refused.
StudyHeader read_header(const std::string& path, hid_t file);
void touch_updated(const std::string& path, hid_t file);

// A run hash is a group name: letters, digits, '_' and '-' only.
void check_run_hash(const std::string& path, const std::string& hash);

// Writes the attributes and axes/config groups of a new run group (status pending).
void write_run_description(const std::string& path, hid_t run, const RunDescription& description);
// Writes what an attempt changes: status, attempts, started, finished, wall_seconds, ranks,
// host, message, tuned_state_path (merge copies a whole run with it).
void write_run_progress(const std::string& path, hid_t run, const RunInfo& info);
RunInfo read_run_info(const std::string& path, hid_t run, const std::string& hash);
RunStatus read_run_status(const std::string& path, hid_t run, const std::string& hash);
std::string read_canonical_text(const std::string& path, hid_t run, const std::string& hash);

// "conflicting duplicate run H in FILE: ...": names the first line where two canonical texts differ.
[[noreturn]] void fail_conflicting_config(const std::string& where, const std::string& hash, const std::string& stored,
                                          const std::string& given);

}  // namespace statetune::results::detail
