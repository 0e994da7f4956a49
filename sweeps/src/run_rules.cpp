#include "run_rules.h"

#include "statetune/common/error.h"

namespace statetune::sweeps {

void check_run_rules(const RunSpec& run, const ConfigValues& resolved) {
  ST_CHECK(run.init != Init::kPrompt || !run.init_prompt.empty(),
           "{}: key 'init_prompt': required when init is 'prompt'", resolved.where("init"));
  ST_CHECK(run.warmup_steps <= run.steps, "{}: key 'warmup_steps': expected at most steps ({}), got {}",
           resolved.where("warmup_steps"), run.steps, run.warmup_steps);
  // With no guide model the teacher is the model itself; without a prefix it would equal the
  // student and there would be nothing to learn.
  ST_CHECK(run.target != Target::kGuide || !run.guide.empty() || !run.guide_prefix.empty(),
           "{}: key 'guide_prefix': required when target is 'guide' and no 'guide' model is given",
           resolved.where("target"));
  ST_CHECK(run.checkpoint_every == 0 || !run.checkpoint.empty(),
           "{}: key 'checkpoint': required when checkpoint_every > 0", resolved.where("checkpoint_every"));
}

}  // namespace statetune::sweeps
