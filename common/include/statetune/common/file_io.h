#pragma once
// Whole-file reads and atomic writes: a file is written to "<path>.tmp.<pid>" and renamed
// into place, so a failed or interrupted write never leaves a half-written result behind.
#include <string>
#include <string_view>

namespace statetune {

// Reads the whole file; throws statetune::Error naming the path on failure.
std::string read_file_bytes(const std::string& path);
// Whether write_file_atomic waits for the bytes to reach the disk before the rename.
enum class Durability {
  kSynced,    // fsync, then rename: after a crash the file is the old or the new one, whole
  kDeferred,  // rename without fsync: many small files, then one sync_file_system() before
              // anything that names them is written (a crash before it may leave them empty)
};

// Writes bytes to path atomically (temp file, fsync unless deferred, rename).
void write_file_atomic(const std::string& path, std::string_view bytes, Durability durability = Durability::kSynced);

// Makes every completed write on the file system that holds `path` durable (syncfs).
void sync_file_system(const std::string& path);

// Appends bytes at the end of the file at path (created if absent), then (kSynced) fdatasyncs
// it: an append-only log whose lines are durable once this returns.
void append_file(const std::string& path, std::string_view bytes, Durability durability = Durability::kSynced);

}  // namespace statetune
