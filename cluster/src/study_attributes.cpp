#include "statetune/cluster/study_attributes.h"

#include <sstream>

namespace statetune::cluster::attributes {

std::vector<std::string> split_job_ids(const std::string& text) {
  std::vector<std::string> ids;
  std::istringstream words(text);
  for (std::string id; words >> id;) ids.push_back(id);
  return ids;
}

}  // namespace statetune::cluster::attributes
