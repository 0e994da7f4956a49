#include "run/tts_run.h"

#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "run/guide_questions.h"
#include "run/sharded_eval.h"
#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/data/eval_records.h"
#include "statetune/data/guide_traces.h"
#include "statetune/orchestrator/model_inputs.h"
#include "statetune/orchestrator/run_resources.h"
#include "statetune/orchestrator/run_setup.h"
#include "statetune/workers/evaluator.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/test_time_scaling.h"

namespace statetune::orchestrator {
namespace {

// "question 3/5  steps 2  loss 1.61 -> 1.2  answer wrong -> right  0.41 s  ETA 1 s": the
// tuning loss (reinforce: the mean reward) of its first and last step, each measured before
// that step's update.
std::string question_line(size_t i, size_t n, workers::TtsMode mode, const workers::TtsStats& stats,
                          bool right_before, bool right_after, double seconds, double eta) {
  const std::vector<double>& curve = stats.loss_or_reward_per_step;
  const char* figure = mode == workers::TtsMode::kReinforce ? "reward" : "loss";
  const auto answer = [](bool right) { return right ? "right" : "wrong"; };
  return fmt::format("question {}/{}  steps {}{}  answer {} -> {}  {:.2f} s  ETA {:.0f} s{}", i + 1, n, stats.steps,
                     curve.empty() ? "" : fmt::format("  {} {:.4g} -> {:.4g}", figure, curve.front(), curve.back()),
                     answer(right_before), answer(right_after), seconds, eta,
                     stats.diverged.empty() ? "" : "  diverged: " + stats.diverged);
}

}  // namespace

RunReport execute_tts_run(const sweeps::RunSpec& spec, workers::Communicator& group, const RunControl& control,
                          RunTimes& times) {
  Timer total;
  auto note = [&](const std::string& text) {
    if (control.note) control.note(text);
  };
  // The process's copies: a sweep's runs on this rank share them while the files are unchanged.
  const auto tokenizer = shared_tokenizer(spec.vocab);
  const data::Tokenizer& tok = *tokenizer;
  const auto student_model = shared_model(spec.model, control.placement, "model", note);
  const workers::Rwkv7Model& student = *student_model;
  const auto examples = shared_run_examples(spec, tok);
  const RunExamples& ex = *examples;
  const data::RenderedBenchmark& b = ex.eval_benchmark;
  ST_CHECK(b.size() > 0, "{}: method tts adapts to the questions of a benchmark eval split (data.eval), found none",
           spec.data.eval);
  const workers::ModelState start = initial_state_from_file(spec.tts_state, student);

  // The guide: a model (its weights loaded once per process), the student itself after
  // guide_prefix, or a trace file.
  std::shared_ptr<const workers::Rwkv7Model> guide_model;
  if (!spec.guide.empty()) guide_model = shared_model(spec.guide, control.placement, "guide", note);
  const workers::Rwkv7Model* guide = guide_model ? guide_model.get() : (spec.guide_traces.empty() ? &student : nullptr);
  workers::ModelState guide_state;
  if (guide != nullptr && !spec.guide_prefix.empty()) guide_state = guide->prompt_state(prompt_tokens(tok, spec.guide_prefix));
  std::shared_ptr<const data::GuideTraces> traces;
  if (!spec.guide_traces.empty()) traces = shared_guide_traces(spec.guide_traces, spec.vocab, tok);
  times.load = total.seconds();

  workers::TtsOptions opts;
  opts.mode = spec.tts_mode == sweeps::TtsMode::kReinforce ? workers::TtsMode::kReinforce : workers::TtsMode::kDistill;
  opts.steps = spec.tts_steps;
  opts.lr = spec.tts_lr;
  opts.lr_kernel = spec.lr_kernel;
  opts.samples = spec.tts_samples;
  opts.sample_tokens = spec.tts_sample_tokens;
  opts.temperature = spec.tts_temperature;
  opts.tune_shift = spec.shift == sweeps::Shift::kTune;

  const std::vector<GuideQuestion> questions = guide_questions(b);
  const workers::Evaluator plain(student, tok, &start);
  std::unique_ptr<workers::Evaluator> guide_eval;
  if (guide != nullptr) guide_eval = std::make_unique<workers::Evaluator>(*guide, tok, &guide_state);

  nlohmann::json mine = nlohmann::json::array();
  const size_t rank = static_cast<size_t>(group.rank()), ranks = static_cast<size_t>(group.size());
  size_t done_here = 0;
  Timer questions_timer;
  for (size_t i = rank; i < questions.size(); i += ranks) {
    Timer question_timer;
    const GuideQuestion& q = questions[i];
    const std::vector<int64_t> question = prompt_tokens(tok, q.prompt);
    Timer plain_timer;
    nlohmann::json before = raw_outcome(plain, b, i);
    const double plain_seconds = plain_timer.seconds();

    // The guide's chain of thought: from the trace file, or written by the guide model
    // (greedy). Gold answers never enter: the guide reads the question alone.
    workers::GuideThought thought;
    int64_t guide_tokens = 0;
    Timer guide_timer;
    if (opts.mode == workers::TtsMode::kDistill) {
      if (traces) {
        const data::GuideTrace& t = traces->at(q.id);
        thought.tokens.assign(t.tokens.begin(), t.tokens.end());
        for (const auto& top : t.top_logprobs) {
          std::vector<std::pair<int64_t, double>> row;
          for (const auto& [id, lp] : top) row.emplace_back(id, lp);
          thought.top_k.push_back(std::move(row));
        }
      } else {
        workers::GenerationOptions g;
        g.max_tokens = static_cast<int>(spec.tts_guide_tokens);
        g.temperature = 0;
        std::vector<int64_t> tokens = workers::generate(*guide, question, guide_state, g, {});
        if (tokens.empty()) tokens.push_back(0);
        thought = workers::score_guide_thought(*guide, guide_state, question, tokens);
      }
      guide_tokens = static_cast<int64_t>(thought.tokens.size());
    }
    const double guide_seconds = guide_timer.seconds();
    opts.seed = static_cast<uint64_t>(spec.seed) * 1000003u + i;  // per question, independent of the sharding
    workers::TtsStats stats;
    const workers::ModelState adapted = workers::adapt_state(student, start, question, thought, guide, guide_state, opts, &stats);
    if (opts.mode == workers::TtsMode::kReinforce) guide_tokens = stats.guide_tokens;
    const workers::Evaluator tuned(student, tok, &adapted);
    nlohmann::json after = raw_outcome(tuned, b, i);
    nlohmann::json by_guide = guide_eval ? raw_outcome(*guide_eval, b, i) : nlohmann::json(nullptr);
    mine.push_back({{"i", i},
                    {"before", before},
                    {"after", after},
                    {"guide", by_guide},
                    {"guide_tokens", guide_tokens},
                    {"steps", stats.steps},
                    {"seconds", stats.seconds},
                    {"plain_seconds", plain_seconds},
                    {"guide_seconds", guide_seconds},
                    {"diverged", stats.diverged}});
    ++done_here;
    // Progress in questions, not tuning steps (`steps` does not apply to tts; control.on_step
    // is for a trainer's steps): this rank's questions, each with its own figures.
    const size_t left_here = (questions.size() - 1 - i) / ranks;
    note(question_line(i, questions.size(), opts.mode, stats, decide_item(b, i, before, "before").correct,
                       decide_item(b, i, after, "after").correct, question_timer.seconds(),
                       questions_timer.seconds() / static_cast<double>(done_here) * static_cast<double>(left_here)));
    if (control.stop_requested && control.stop_requested()) {
      // Questions are independent: an interrupted tts run is simply run again on resume.
      RunReport stopped;
      stopped.status = results::RunStatus::kInterrupted;
      stopped.message = fmt::format("stopped after {} question(s) on rank {}", done_here, rank);
      stopped.seconds = total.seconds();
      return stopped;
    }
  }

  // Every rank decides every item from the gathered raw outcomes.
  std::vector<nlohmann::json> outcome(questions.size());
  for (const std::string& share : group.all_gather(mine.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)))
    for (const auto& o : nlohmann::json::parse(share)) outcome.at(o["i"].get<size_t>()) = o;
  RunReport report;
  struct Tally {
    size_t n = 0, correct = 0;
  } before_t, after_t, guide_t;
  double guide_tokens = 0, steps = 0, seconds = 0, plain_seconds = 0, guide_seconds = 0;
  size_t diverged = 0;
  for (size_t i = 0; i < questions.size(); ++i) {
    const nlohmann::json& o = outcome[i];
    ST_CHECK(!o.is_null(), "tts: question {} was not scored by any rank", i);
    auto decide = [&](const nlohmann::json& raw, const std::string& phase, Tally& t) {
      if (raw.is_null()) return;
      results::EvalItem item = decide_item(b, i, raw, phase);
      ++t.n;
      t.correct += item.correct;
      report.items.push_back(std::move(item));
    };
    decide(o["before"], "before", before_t);
    decide(o["after"], "after", after_t);
    decide(o["guide"], "guide", guide_t);
    guide_tokens += o["guide_tokens"].get<double>();
    steps += o["steps"].get<double>();
    seconds += o["seconds"].get<double>();
    plain_seconds += o["plain_seconds"].get<double>();
    guide_seconds += o["guide_seconds"].get<double>();
    diverged += !o["diverged"].get<std::string>().empty();
  }
  const double n = static_cast<double>(questions.size());
  const std::string metric = b.mc.empty() ? "exact_match_strict" : "acc";
  auto rate = [](const Tally& t) { return t.n ? static_cast<double>(t.correct) / static_cast<double>(t.n) : results::kMissing; };
  report.summary.push_back({metric, rate(before_t), rate(after_t)});
  // The guide's own accuracy on the same items: a student that copies a strong guide is not a
  // state-tuning win, so it stands beside the student's.
  report.summary.push_back({"guide/" + metric, results::kMissing, rate(guide_t)});
  report.summary.push_back({"tts/guide_tokens_per_question", results::kMissing, guide_tokens / n});
  report.summary.push_back({"tts/steps_per_question", results::kMissing, steps / n});
  report.summary.push_back({"tts/seconds_per_question", plain_seconds / n, (plain_seconds + seconds) / n});
  // The guide writing (or reading) its chain of thought: the cost a trace file moves offline.
  report.summary.push_back({"tts/guide_seconds_per_question", results::kMissing, guide_seconds / n});
  report.summary.push_back({"tts/diverged_questions", results::kMissing, static_cast<double>(diverged)});
  note(fmt::format("tts on {} questions: {} {:.4f} -> {:.4f} (guide {:.4f}); per question {:.1f} guide tokens, "
                   "{:.1f} steps, {:.3f} s adapting vs {:.3f} s plain evaluation, {:.3f} s of guide",
                   questions.size(), metric, rate(before_t), rate(after_t), rate(guide_t), guide_tokens / n, steps / n,
                   seconds / n, plain_seconds / n, guide_seconds / n));
  report.seconds = total.seconds();
  return report;
}

}  // namespace statetune::orchestrator
