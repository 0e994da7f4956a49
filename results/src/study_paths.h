#pragma once
// Where the parts of a study live on disk (layout.h). The study file the user names is the
// index; beside it, "<study>.runs/" holds one HDF5 file per run and the journal.
#include <filesystem>
#include <string>

namespace statetune::results::detail {

inline std::string runs_folder(const std::string& study) { return study + ".runs"; }

inline std::string run_file_path(const std::string& study, const std::string& hash) {
  return runs_folder(study) + "/" + hash + ".h5";
}

inline std::string journal_path(const std::string& study) { return runs_folder(study) + "/journal.jsonl"; }

// The index's external link target: relative to the index's folder (HDF5 and h5py look
// there first), so a study moves as a whole with its folder.
inline std::string run_link_target(const std::string& study, const std::string& hash) {
  return std::filesystem::path(study).filename().string() + ".runs/" + hash + ".h5";
}

}  // namespace statetune::results::detail
