// Command-line overrides of a sweep's base (`statetune sweep|plan SWEEP.yaml key=value ...`).
#include "statetune/common/error.h"
#include "statetune/sweeps/config_reader.h"
#include "statetune/sweeps/run_schema.h"
#include "sweep_definition.h"

namespace statetune::sweeps {

void apply_sweep_overrides(SweepDefinition& sweep, const std::vector<std::string>& overrides) {
  // An axis gives each run its own value; one value for all of them would silently replace
  // the axis, so it is refused before anything is applied.
  for (const auto& item : overrides) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) continue;  // apply_overrides names the malformed item
    const std::string key = item.substr(0, eq);
    for (const auto& group : sweep.groups) {
      for (std::size_t k = 0; k < group.keys.size(); ++k) {
        if (group.keys[k] != key) continue;
        fail("command line: {}: key '{}' is an axis of the sweep ({}); an override sets one value for every run, "
             "so change the axis in the file instead",
             item, key, group.declared_at[k]);
      }
    }
  }
  apply_overrides(sweep.base, run_schema(), overrides);
}

}  // namespace statetune::sweeps
