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
  ST_CHECK(run.target != Target::kGuide || !run.guide.empty() || !run.guide_prefix.empty() || !run.guide_traces.empty(),
           "{}: key 'guide_prefix': required when target is 'guide' and no 'guide' model or 'guide_traces' is given",
           resolved.where("target"));
  if (run.method == Method::kTts) {
    ST_CHECK(!run.data.eval.empty(), "{}: key 'data.eval': required with method tts (its questions are adapted to)",
             resolved.where("method"));
    ST_CHECK(!run.guide.empty() || !run.guide_traces.empty() || !run.guide_prefix.empty(),
             "{}: method tts needs a guide: 'guide' (a model), 'guide_traces' (a trace file) or 'guide_prefix'",
             resolved.where("method"));
    ST_CHECK(run.tts_mode != TtsMode::kReinforce || run.guide_traces.empty(),
             "{}: key 'guide_traces': tts_mode reinforce rewards the student's own samples, which needs a guide model",
             resolved.where("guide_traces"));
  }
  ST_CHECK(run.checkpoint_every == 0 || !run.checkpoint.empty(),
           "{}: key 'checkpoint': required when checkpoint_every > 0", resolved.where("checkpoint_every"));
}

}  // namespace statetune::sweeps
