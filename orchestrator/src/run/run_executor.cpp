#include "statetune/orchestrator/run_executor.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "run/baseline_memo.h"
#include "run/fetched_inputs.h"
#include "run/sharded_eval.h"
#include "run/run_times.h"
#include "run/tts_run.h"
#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/orchestrator/run_resources.h"
#include "statetune/orchestrator/run_setup.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/guide_examples.h"
#include "statetune/workers/state_file.h"

namespace statetune::orchestrator {
namespace {

// The metrics of one phase: a benchmark split (sharded), or the target-token loss of a JSONL
// eval split (also sharded, inside evaluate_loss). Nothing when there is no eval split.
PhaseEval evaluate_phase(const workers::Rwkv7Model& model, const data::Tokenizer& tok, const RunExamples& ex,
                         const workers::StateTuner& tuner, workers::Communicator& group, const std::string& phase) {
  PhaseEval out;
  if (!ex.eval.empty()) {
    out.metrics.emplace_back("eval_loss", tuner.evaluate_loss(ex.eval));
  } else if (ex.eval_benchmark.size() > 0) {
    out = evaluate_benchmark(model, tok, tuner.state().initial_state(), ex.eval_benchmark, group, phase);
  }
  return out;
}

std::string describe(const PhaseEval& e) {
  std::string s;
  for (const auto& [name, value] : e.metrics) {
    if (name.rfind("mmlu/", 0) == 0) continue;  // per subject: in the results file
    s += fmt::format("{}{} {:.4f}", s.empty() ? "" : ", ", name, value);
  }
  return s;
}

}  // namespace

results::StepRecord step_record(const workers::StepMetrics& m) {
  results::StepRecord r;
  r.step = m.step;
  r.loss = m.loss;
  r.lr = m.lr;
  r.grad_norm = m.grad_norm;
  r.l_decor = m.l_decor;  // NaN outside dbp: stored as missing
  r.tokens_per_s = m.tokens_per_s;
  return r;
}

namespace {

// `hash` is the run's identity in its study: the given spec's, before catalogue names were resolved.
RunReport execute_tuning_run(const sweeps::RunSpec& spec, const std::string& hash, workers::Communicator& group,
                             const RunControl& control, RunTimes& times) {
  Timer total, phase;
  auto note = [&](const std::string& text) {
    if (control.note) control.note(text);
  };
  // The process's copies: a sweep's runs on this rank share them while the files are unchanged.
  const auto tokenizer = shared_tokenizer(spec.vocab);
  const data::Tokenizer& tok = *tokenizer;
  const auto frozen = shared_model(spec.model, control.placement, "model", note);
  const workers::Rwkv7Model& model = *frozen;
  const auto examples = shared_run_examples(spec, tok);
  const RunExamples& ex = *examples;

  std::shared_ptr<const workers::Rwkv7Model> guide_model;
  std::unique_ptr<workers::GuideTarget> guide;
  // A trace file without a guide model: cross-entropy on the guide's text (the examples
  // load_run_examples built from the traces). With a model too: its KL over that text.
  const bool traces_only = !spec.guide_traces.empty() && spec.guide.empty();
  if (spec.target == sweeps::Target::kGuide && !traces_only) {
    guide = std::make_unique<workers::GuideTarget>();
    if (!spec.guide.empty()) guide_model = shared_model(spec.guide, control.placement, "guide", note);
    guide->model = guide_model ? guide_model.get() : &model;
    guide->alpha = spec.alpha;
    if (!spec.guide_prefix.empty()) guide->state = guide->model->prompt_state(prompt_tokens(tok, spec.guide_prefix));
  }
  times.load = phase.seconds();
  // The training examples: the data's, or (guide_generate_tokens) the guide's text after each
  // question, written for this run (the cached examples stay as read).
  std::vector<workers::TuneExample> written;
  if (!ex.guide_questions.empty()) {
    ST_CHECK(guide != nullptr, "guide_generate_tokens: needs a guide model (or the model itself after guide_prefix)");
    phase.reset();
    written = workers::guide_written_examples(*guide->model, guide->state, ex.guide_questions,
                                              spec.guide_generate_tokens, spec.max_tokens, group);
    times.guide_text = phase.seconds();
    int64_t tokens = 0;
    for (const workers::TuneExample& e : written)
      for (uint8_t t : e.is_target) tokens += t;
    note(fmt::format("guide text: {:.1f} tokens per training question written by the guide (at most {}, greedy), "
                     "{:.1f} s over {} rank(s)",
                     static_cast<double>(tokens) / static_cast<double>(written.size()), spec.guide_generate_tokens,
                     times.guide_text, group.size()));
  }
  const std::vector<workers::TuneExample>& train = ex.guide_questions.empty() ? ex.train : written;
  note(fmt::format("data: {} training examples{}", train.size(),
                   ex.skipped ? fmt::format(", {} malformed records skipped", ex.skipped) : ""));

  workers::TuneData data;
  data.train = train;
  for (size_t i = 0; i < train.size() && static_cast<int64_t>(i) < spec.calibration_examples; ++i)
    data.calibration_prompts.push_back(train[i].tokens);
  phase.reset();
  workers::StateTuner tuner(model, tune_options_from(spec, tok), data, group, guide.get());
  times.calibration = phase.seconds();
  if (tuner.calibration()) {
    note(fmt::format("kernel read-out: M={}, {} q-directions per head, calibrated in {:.1f} s", spec.M,
                     tuner.calibration()->samples, times.calibration));
  }
  RunReport report;
  // The baseline: from this process's memo when a run before this one had the same one.
  PhaseEval before;
  phase.reset();
  if (!ex.eval.empty() || ex.eval_benchmark.size() > 0) {
    report.baseline = baseline_key(spec, control.placement, ex, tuner.state().initial_state(), group.size());
    if (const auto known = BaselineMemo::process().find(report.baseline)) {
      before = known->eval;
      report.baseline_reused = true;
      note(fmt::format("before tuning: {} (baseline {}, computed by run {}: reused)", describe(before), report.baseline,
                       known->first_run));
    } else {
      before = evaluate_phase(model, tok, ex, tuner, group, "before");
      BaselineMemo::process().remember(report.baseline, before, hash);
      note("before tuning: " + describe(before));
    }
  }
  times.eval_before = phase.seconds();

  if (control.prepare_outputs) control.prepare_outputs();
  phase.reset();
  workers::TrainResult result = tuner.run(control.resume, [&](const workers::StepMetrics& m) {
    if (control.on_step) control.on_step(m);
    if (control.stop_requested && control.stop_requested()) tuner.request_stop();
  });
  times.steps = phase.seconds();
  report.resumed_from = tuner.resumed_from();
  for (const auto& m : result.history) report.steps.push_back(step_record(m));
  if (result.status != workers::TrainStatus::kDone) {
    report.status = result.status == workers::TrainStatus::kDiverged ? results::RunStatus::kDiverged
                                                                      : results::RunStatus::kInterrupted;
    report.message = result.message;
    report.seconds = total.seconds();
    return report;
  }
  // The state-file tensors, built once: written to the file and kept for the results file.
  phase.reset();
  const workers::TensorMap tuned =
      workers::state_tensor_map(tuner.state().initial_state(), model.config(), spec.output);
  if (group.rank() == 0 && !spec.output.empty()) workers::save_checkpoint(spec.output, tuned);
  report.state_path = spec.output;
  // The tuned state is stored once: in its own file when the run names one, else in the
  // study (the report carries it there), unless the caller asks for both.
  for (const auto& [name, tensor] : tuned) {
    if (!spec.output.empty() && !control.state_in_report) break;
    const at::Tensor t = tensor.to(at::kFloat).contiguous();
    results::StateTensor st;
    st.name = name;
    st.shape.assign(t.sizes().begin(), t.sizes().end());
    st.values.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    report.state.push_back(std::move(st));
  }
  times.save = phase.seconds();
  phase.reset();
  const PhaseEval after = evaluate_phase(model, tok, ex, tuner, group, "after");
  times.eval_after = phase.seconds();
  if (!after.metrics.empty()) note("after tuning: " + describe(after));
  for (size_t i = 0; i < after.metrics.size(); ++i) {
    results::EvalMetric m;
    m.name = after.metrics[i].first;
    m.after = after.metrics[i].second;
    for (const auto& [name, value] : before.metrics)
      if (name == m.name) m.before = value;
    report.summary.push_back(m);
  }
  report.items = before.items;
  report.items.insert(report.items.end(), after.items.begin(), after.items.end());
  report.seconds = total.seconds();
  return report;
}

}  // namespace

RunReport execute_run(const sweeps::RunSpec& given, workers::Communicator& group, const RunControl& control) {
  // The phases are counted into the study's split as they end, also for a run that throws.
  RunTimes times;
  try {
    const sweeps::RunSpec spec = with_fetched_inputs(given);  // names -> the fetch cache's files
    RunReport report = spec.method == sweeps::Method::kTts ? execute_tts_run(spec, group, control, times)
                                                           : execute_tuning_run(spec, sweeps::run_hash(given), group, control, times);
    // tts times its loading; the rest of its time is the questions'.
    if (given.method == sweeps::Method::kTts) times.questions = std::max(0.0, report.seconds - times.load);
    report.times = times;
    add_to_process_times(times);
    process_cache().trim();  // the run has let go of its model and data: back under the cap
    return report;
  } catch (...) {
    add_to_process_times(times);
    process_cache().trim();
    throw;
  }
}

}  // namespace statetune::orchestrator
