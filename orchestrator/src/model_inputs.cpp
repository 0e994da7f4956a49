#include "statetune/orchestrator/model_inputs.h"

#include "statetune/workers/state_file.h"

namespace statetune::orchestrator {

workers::ModelState initial_state_from_file(const std::string& path, const workers::Rwkv7Model& model) {
  if (path.empty()) return {};
  std::vector<at::Tensor> wkv = workers::load_time_states(path, model.config());
  workers::ModelState state(wkv.size());
  for (size_t l = 0; l < wkv.size(); ++l) state[l].wkv = wkv[l].to(model.dtype());
  return state;
}

}  // namespace statetune::orchestrator
