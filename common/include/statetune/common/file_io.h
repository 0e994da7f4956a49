#pragma once
// Whole-file reads and atomic writes: a file is written to "<path>.tmp.<pid>" and renamed
// into place, so a failed or interrupted write never leaves a half-written result behind.
#include <string>
#include <string_view>

namespace statetune {

// Reads the whole file; throws statetune::Error naming the path on failure.
std::string read_file_bytes(const std::string& path);
// Writes bytes to path atomically (temp file + fsync + rename).
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace statetune
