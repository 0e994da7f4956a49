#pragma once
// Opening study files. Readers open the file on disk read-only. The writer never edits the
// file in place: it works on an in-memory image (HDF5 core driver, no backing store) and
// publishes it with common's write_file_atomic (temp file + fsync + rename). HDF5 has no
// journal, so an in-place write killed half-way can leave a file no one can open; a renamed
// image is always a whole, earlier commit.
#include <string>

#include "h5_io.h"
#include "statetune/common/file_io.h"

namespace statetune::results::detail {

// A writer killed during a commit leaves "<name>.tmp.<pid>" (write_file_atomic's temporary).
// Removes those in `folder` whose name starts with `prefix` and whose process no longer runs.
void remove_stale_temporaries(const std::string& folder, const std::string& prefix);

// One-line errors for a path that is missing, not a regular file, or not HDF5.
void check_is_hdf5_file(const std::string& path);

// Opens path read-only (after check_is_hdf5_file).
Handle open_read_only(const std::string& path);

class MemoryStudyFile {
 public:
  // A new, empty file image that will be published at path.
  static MemoryStudyFile create(const std::string& path);
  // The image of the existing file at path, opened read-write in memory.
  static MemoryStudyFile load(const std::string& path);

  hid_t id() const { return file_.get(); }
  const std::string& path() const { return path_; }
  // Flushes HDF5's caches into the image and replaces the file at path with it.
  void commit(Durability durability = Durability::kSynced);

 private:
  MemoryStudyFile(Handle file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  Handle file_;
  std::string path_;
};

}  // namespace statetune::results::detail
