#include "study_index.h"

#include "h5_check.h"
#include "h5_io.h"
#include "layout_io.h"
#include "layout_names.h"
#include "study_file.h"
#include "study_paths.h"

namespace statetune::results::detail {

void write_index(const std::string& path, const IndexContents& contents) {
  MemoryStudyFile index = MemoryStudyFile::create(path);
  write_new_header(path, index.id(), contents.info);
  if (!contents.created.empty()) write_attr(path, index.id(), names::kCreated, contents.created);
  Handle study = open_group(path, index.id(), names::kStudyGroup);
  for (const auto& [key, value] : contents.attributes) write_attr(path, study.get(), key, value);
  Handle runs = open_group(path, index.id(), names::kRunsGroup);
  for (const auto& hash : contents.hashes) {
    const std::string target = run_link_target(path, hash);
    H5_CHECK(path, H5Lcreate_external(target.c_str(), "/", runs.get(), hash.c_str(), H5P_DEFAULT, H5P_DEFAULT));
  }
  index.commit();
}

std::vector<std::string> read_index_links(const std::string& path) {
  Handle file = open_read_only(path);
  Handle runs = open_group(path, file.get(), names::kRunsGroup);
  return child_names(path, runs.get());
}

}  // namespace statetune::results::detail
