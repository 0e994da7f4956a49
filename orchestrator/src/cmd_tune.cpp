// statetune tune CONFIG.yaml [key=value ...]: one state-tuning run (METHOD.md §1-§3) from a
// run config (sweeps/run_config.h): evaluate before, tune, evaluate after, save the state.
#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/timer.h"
#include "statetune/data/eval_records.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/run_setup.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/workers/evaluator.h"
#include "statetune/workers/state_file.h"

namespace statetune::orchestrator {
namespace {

std::atomic<int> g_stop_signal{0};
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

struct EvalScore {
  std::string metric;
  double value = std::nan("");
};

// acc on a benchmark eval split, or the target-token loss on a JSONL eval split.
EvalScore evaluate(const workers::Rwkv7Model& model, const data::Tokenizer& tok, const RunExamples& ex,
                   const workers::StateTuner& tuner) {
  if (!ex.eval.empty()) return {"eval loss", tuner.evaluate_loss(ex.eval)};
  if (ex.eval_benchmark.size() == 0) return {};
  const workers::ModelState init = tuner.state().initial_state();
  at::NoGradGuard no_grad;
  workers::Evaluator ev(model, tok, &init);
  if (!ex.eval_benchmark.mc.empty()) {
    std::vector<data::McRecord> records;
    for (const auto& r : ex.eval_benchmark.mc) records.push_back(ev.score(r));
    return {"acc", data::summarise(records).overall.rate()};
  }
  std::vector<data::GenRecord> records;
  for (const auto& r : ex.eval_benchmark.gen) records.push_back(ev.generate(r));
  return {"exact match (strict)", data::summarise(records).rate()};
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto* sub = app.add_subcommand("tune", "Tune the initial state of a frozen model: one run from a YAML config");
  struct Options {
    std::string config;
    std::vector<std::string> overrides;
    bool resume = false;
    int threads = 1;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("config", o->config, "The run config (YAML; keys: see README, 'Run config')")->required();
  sub->add_option("overrides", o->overrides, "key=value overrides (dotted keys for data.*); they win over the file");
  sub->add_flag("--resume", o->resume, "Continue from the config's checkpoint file when it exists");
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    const sweeps::RunSpec spec = sweeps::load_run_file(o->config, o->overrides);
    apply_threads(spec.threads > 0 ? static_cast<int>(spec.threads) : o->threads);
    const std::string hash = sweeps::run_hash(spec);
    std::printf("run %s (%s)\n--- resolved config ---\n%s-----------------------\n", hash.c_str(), o->config.c_str(),
                sweeps::run_yaml(spec).c_str());
    std::fflush(stdout);
    Timer total;
    const data::Tokenizer tok = data::Tokenizer::load(spec.vocab);
    const workers::Rwkv7Model model = workers::Rwkv7Model::load(spec.model);
    RunExamples ex = load_run_examples(spec, tok);
    std::printf("data: %zu training examples%s\n", ex.train.size(),
                ex.skipped ? fmt::format(", {} malformed records skipped", ex.skipped).c_str() : "");

    std::unique_ptr<workers::Rwkv7Model> guide_model;
    std::unique_ptr<workers::GuideTarget> guide;
    if (spec.target == sweeps::Target::kGuide) {
      guide = std::make_unique<workers::GuideTarget>();
      if (!spec.guide.empty()) guide_model = std::make_unique<workers::Rwkv7Model>(workers::Rwkv7Model::load(spec.guide));
      guide->model = guide_model ? guide_model.get() : &model;
      guide->alpha = spec.alpha;
      if (!spec.guide_prefix.empty()) {
        at::NoGradGuard no_grad;
        std::vector<int64_t> prefix{0};
        for (int32_t id : tok.encode(spec.guide_prefix)) prefix.push_back(id);
        workers::ModelState after;
        guide->model->forward(at::tensor(prefix, at::kLong).unsqueeze(0), at::Tensor(), nullptr, &after);
        for (auto& l : after) guide->state.push_back({l.att_shift[0], l.wkv[0], l.ffn_shift[0], {}, {}});
      }
    }

    workers::TuneData data;
    data.train = ex.train;
    for (size_t i = 0; i < ex.train.size() && static_cast<int64_t>(i) < spec.calibration_examples; ++i)
      data.calibration_prompts.push_back(ex.train[i].tokens);
    workers::LocalCommunicator comm;
    Timer setup;
    workers::StateTuner tuner(model, tune_options_from(spec, tok), data, comm, guide.get());
    if (tuner.calibration()) {
      std::printf("kernel read-out: M=%lld, %lld q-directions per head, calibrated in %.1f s\n",
                  static_cast<long long>(spec.M), static_cast<long long>(tuner.calibration()->samples),
                  setup.seconds());
    }
    const EvalScore before = evaluate(model, tok, ex, tuner);
    if (!before.metric.empty()) std::printf("before tuning: %s %.4f\n", before.metric.c_str(), before.value);

    g_stop_signal = 0;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGUSR1, on_stop_signal);
    std::string metrics;
    Timer train_timer;
    const workers::TrainResult result = tuner.run(o->resume, [&](const workers::StepMetrics& m) {
      nlohmann::json j{{"step", m.step}, {"loss", m.loss}, {"lr", m.lr}, {"grad_norm", m.grad_norm},
                       {"tokens_per_s", m.tokens_per_s}};
      if (std::isfinite(m.l_decor)) j["l_decor"] = m.l_decor;
      metrics += j.dump() + "\n";
      if ((m.step + 1) % std::max<int64_t>(spec.log_every, 1) == 0 || m.step + 1 == spec.steps) {
        const int64_t first = tuner.resumed_from() > 0 ? tuner.resumed_from() : 0;
        const double done = static_cast<double>(m.step + 1 - first);
        const double eta = train_timer.seconds() / done * static_cast<double>(spec.steps - m.step - 1);
        std::printf("step %lld/%lld  loss %.5f  lr %.3g  grad norm %.3g%s  %.0f tok/s  ETA %.0f s\n",
                    static_cast<long long>(m.step + 1), static_cast<long long>(spec.steps), m.loss, m.lr, m.grad_norm,
                    std::isfinite(m.l_decor) ? fmt::format("  L_decor {:.4g}", m.l_decor).c_str() : "",
                    m.tokens_per_s, eta);
        std::fflush(stdout);
      }
      if (g_stop_signal != 0) tuner.request_stop();
    });
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    std::signal(SIGUSR1, SIG_DFL);
    if (tuner.resumed_from() > 0) std::printf("(resumed from step %lld)\n", static_cast<long long>(tuner.resumed_from()));
    if (result.status == workers::TrainStatus::kDiverged)
      fail("{}: the run diverged: {}; no state was written", o->config, result.message);
    if (result.status == workers::TrainStatus::kStopped) {
      std::printf("stopped by signal %d: %s; checkpoint %s (continue with --resume)\n", g_stop_signal.load(),
                  result.message.c_str(), spec.checkpoint.empty() ? "none (no `checkpoint:` set)" : spec.checkpoint.c_str());
      return;
    }
    workers::save_state_file(spec.output, tuner.state().initial_state(), model.config());
    sweeps::save_run_yaml(spec, spec.output + ".config.yaml");
    write_file_atomic(spec.output + ".metrics.jsonl", metrics);
    const EvalScore after = evaluate(model, tok, ex, tuner);
    if (!after.metric.empty())
      std::printf("after tuning:  %s %.4f (before %.4f, difference %+.4f)\n", after.metric.c_str(), after.value,
                  before.value, after.value - before.value);
    std::printf("tuned state: %s (config: %s.config.yaml, metrics: %s.metrics.jsonl); %.1f s\n", spec.output.c_str(),
                spec.output.c_str(), spec.output.c_str(), total.seconds());
  });
}

}  // namespace statetune::orchestrator
