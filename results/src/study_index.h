#pragma once
// The study file the user names (layout.h): the header, the /study attributes and one external
// link per run, /runs/<hash> -> "<study>.runs/<hash>.h5":/ . h5py (and the HDF5 API) follow the
// links, so `f["runs"][hash]` is the run's group as if it lived in the file. The index is
// rewritten only when runs are added or a study attribute is set, never per step or status.
#include <map>
#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::results::detail {

struct IndexContents {
  StudyInfo info;
  std::string created;  // ISO 8601 UTC; "" = now
  std::map<std::string, std::string> attributes;
  std::vector<std::string> hashes;  // the runs to link
};

// Builds the index in memory and publishes it atomically (temporary, fsync, rename).
void write_index(const std::string& path, const IndexContents& contents);

// The hashes the index links (sorted).
std::vector<std::string> read_index_links(const std::string& path);

}  // namespace statetune::results::detail
