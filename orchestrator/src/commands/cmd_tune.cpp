// statetune tune CONFIG.yaml [key=value ...]: one state-tuning run (METHOD.md §1-§3) from a
// run config (sweeps/run_config.h): evaluate before, tune, evaluate after, save the state.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/output_path.h"
#include "statetune/common/timer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/run_executor.h"
#include "statetune/sweeps/run_config.h"
#include "cli/stop_signals.h"
#include "run/fetched_inputs.h"

namespace statetune::orchestrator {
namespace {

std::string display_name(std::string metric) {
  for (char& c : metric)
    if (c == '_') c = ' ';
  return metric;
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
  add_placement_overrides(*sub, o->overrides);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    const sweeps::RunSpec spec = sweeps::load_run_file(o->config, o->overrides);
    if (spec.output.empty()) fail("{}: missing required key 'output' (where tune writes the tuned state)", o->config);
    with_fetched_inputs(spec);  // a model or benchmark not fetched: refused before any work
    apply_threads(spec.threads > 0 ? static_cast<int>(spec.threads) : o->threads);
    // Before any work: a run that cannot write its state would lose every step.
    prepare_output_path(spec.output, o->config + ": output");
    if (!spec.checkpoint.empty()) prepare_output_path(spec.checkpoint, o->config + ": checkpoint");
    const std::string hash = sweeps::run_hash(spec);
    std::printf("run %s (%s)\n--- resolved config ---\n%s-----------------------\n", hash.c_str(), o->config.c_str(),
                sweeps::run_yaml(spec).c_str());
    std::fflush(stdout);
    Timer total;
    workers::LocalCommunicator comm;
    RunControl control;
    control.placement =
        resolve_placement(spec.device, spec.weights_dtype, local_rank_from_environment(), o->config + ": device");
    std::printf("computing on %s\n", control.placement.describe().c_str());
    control.resume = o->resume;
    control.note = [](const std::string& text) {
      std::printf("%s\n", text.c_str());
      std::fflush(stdout);
    };
    StopSignals signals;
    control.stop_requested = [] { return StopSignals::received() != 0; };
    Timer train_timer;
    int64_t first_step = -1;
    control.on_step = [&](const workers::StepMetrics& m) {
      if (first_step < 0) first_step = m.step;
      if ((m.step + 1) % std::max<int64_t>(spec.log_every, 1) == 0 || m.step + 1 == spec.steps) {
        const double done = static_cast<double>(m.step + 1 - first_step);
        const double eta = train_timer.seconds() / done * static_cast<double>(spec.steps - m.step - 1);
        std::printf("step %lld/%lld  loss %.5f  lr %.3g  grad norm %.3g%s  %.0f tok/s  ETA %.0f s\n",
                    static_cast<long long>(m.step + 1), static_cast<long long>(spec.steps), m.loss, m.lr, m.grad_norm,
                    std::isfinite(m.l_decor) ? fmt::format("  L_decor {:.4g}", m.l_decor).c_str() : "",
                    m.tokens_per_s, eta);
        std::fflush(stdout);
      }
    };
    const RunReport report = execute_run(spec, comm, control);
    if (report.resumed_from > 0) std::printf("(resumed from step %lld)\n", static_cast<long long>(report.resumed_from));
    if (report.status == results::RunStatus::kDiverged)
      fail("{}: the run diverged: {}; no state was written", o->config, report.message);
    if (report.status == results::RunStatus::kInterrupted) {
      std::printf("stopped by signal %d: %s; checkpoint %s (continue with --resume)\n", StopSignals::received(),
                  report.message.c_str(), spec.checkpoint.empty() ? "none (no `checkpoint:` set)" : spec.checkpoint.c_str());
      return;
    }
    sweeps::save_run_yaml(spec, spec.output + ".config.yaml");
    // The whole curve, also the steps of earlier attempts of a resumed run.
    std::string metrics;
    for (const results::StepRecord& m : report.steps) {
      nlohmann::json j{{"step", m.step}, {"loss", m.loss}, {"lr", m.lr}, {"grad_norm", m.grad_norm},
                       {"tokens_per_s", m.tokens_per_s}};
      if (std::isfinite(m.l_decor)) j["l_decor"] = m.l_decor;
      metrics += j.dump() + "\n";
    }
    write_file_atomic(spec.output + ".metrics.jsonl", metrics);
    for (const results::EvalMetric& m : report.summary) {
      if (m.name.rfind("mmlu/", 0) == 0) continue;
      std::printf("after tuning:  %s %.4f (before %.4f, difference %+.4f)\n", display_name(m.name).c_str(), m.after,
                  m.before, m.after - m.before);
    }
    if (report.state_path.empty()) {  // method tts: each question's state is discarded
      std::printf("no tuned state (method %s adapts per question); config: %s.config.yaml; %.1f s\n",
                  std::string(sweeps::to_string(spec.method)).c_str(), spec.output.c_str(), total.seconds());
      return;
    }
    std::printf("tuned state: %s (config: %s.config.yaml, metrics: %s.metrics.jsonl); %.1f s\n", spec.output.c_str(),
                spec.output.c_str(), spec.output.c_str(), total.seconds());
  });
}

}  // namespace statetune::orchestrator
