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
  if (run.target == Target::kGuide && run.method != Method::kTts && run.guide_generate_tokens > 0) {
    ST_CHECK(run.guide_traces.empty(),
             "{}: key 'guide_generate_tokens': the guide's text comes from 'guide_traces' here; set one of them",
             resolved.where("guide_generate_tokens"));
    // The examples hold the guide's text, not the gold answers: there is no gold to add.
    ST_CHECK(run.alpha == 0,
             "{}: key 'alpha': adds the gold answers' cross-entropy, but with 'guide_generate_tokens' the training "
             "examples are the guide's own text; set alpha to 0",
             resolved.where("alpha"));
  }
  if (run.method == Method::kTts) {
    // A named benchmark without paths evaluates on its fetched split.
    const bool fetched_split = run.data.benchmark != Benchmark::kJsonl && run.data.train.empty();
    ST_CHECK(!run.data.eval.empty() || fetched_split,
             "{}: key 'data.eval': required with method tts (its questions are adapted to)", resolved.where("method"));
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
