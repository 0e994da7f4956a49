#include "statetune/sweeps/run_config.h"

#include "statetune/common/file_io.h"
#include "statetune/sweeps/canonical.h"
#include "statetune/sweeps/config_reader.h"
#include "statetune/sweeps/run_schema.h"

namespace statetune::sweeps {

RunSpec load_run_file(const std::string& path, const std::vector<std::string>& overrides) {
  return run_spec_from_values(read_config_file(path, run_schema(), overrides));
}

std::string run_canonical_text(const RunSpec& spec) {
  return canonical_text(run_schema(), values_from_run_spec(spec));
}

std::string run_hash(const RunSpec& spec) { return canonical_hash(run_schema(), values_from_run_spec(spec)); }

std::string run_yaml(const RunSpec& spec) { return config_yaml(run_schema(), values_from_run_spec(spec)); }

void save_run_yaml(const RunSpec& spec, const std::string& path) { write_file_atomic(path, run_yaml(spec)); }

}  // namespace statetune::sweeps
