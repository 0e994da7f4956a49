#include "statetune/orchestrator/model_inputs.h"

#include "statetune/workers/state_file.h"

namespace statetune::orchestrator {

workers::ModelState initial_state_from_file(const std::string& path, const workers::Rwkv7Model& model) {
  if (path.empty()) return {};
  return workers::load_state_file(path, model.config(), model.state_options());
}

}  // namespace statetune::orchestrator
