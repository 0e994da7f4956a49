#include "statetune/orchestrator/commands.h"

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>

#include <ATen/Parallel.h>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "run/fetched_inputs.h"

namespace statetune::orchestrator {

void add_tokenize_command(CLI::App& app);
void add_init_model_command(CLI::App& app);
void add_score_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_sweep_command(CLI::App& app);
void add_plan_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_guide_traces_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_merge_command(CLI::App& app);
void add_submit_command(CLI::App& app);
void add_status_command(CLI::App& app);
void add_fetch_command(CLI::App& app);

std::vector<AddCommand> all_commands() {
  return {add_demo_command, add_tune_command, add_sweep_command, add_plan_command, add_init_model_command, add_tokenize_command, add_score_command, add_generate_command,
          add_eval_command, add_guide_traces_command, add_bench_command,
          add_report_command, add_merge_command, add_submit_command, add_status_command, add_fetch_command};
}

namespace {
std::map<const CLI::App*, std::function<void()>>& bodies() {
  static std::map<const CLI::App*, std::function<void()>> map;
  return map;
}
}  // namespace

void set_command_body(CLI::App& sub, std::function<void()> body) { bodies()[&sub] = std::move(body); }

void run_selected(CLI::App& sub) {
  auto nested = sub.get_subcommands();
  if (!nested.empty()) {  // a group such as "bench model": run the leaf
    for (auto* leaf : nested) run_selected(*leaf);
    return;
  }
  auto it = bodies().find(&sub);
  if (it == bodies().end()) fail("subcommand '{}' has no body", sub.get_name());
  it->second();
}

void add_threads_option(CLI::App& sub, int* threads) {
  *threads = available_cores();
  sub.add_option("--threads", *threads, "Worker threads (default: the cores this process may use)")
      ->check(positive_count())
      ->capture_default_str();
}

namespace {

// A file, or a catalogue name made into the cached file's path (a CLI11 transform).
CLI::Validator fetched_name_or_path() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          text = fetched_or_path(text);
        } catch (const std::exception& e) {
          return e.what();
        }
        return std::string();
      },
      "FILE|NAME");
}

}  // namespace

CLI::Option* add_model_option(CLI::App& sub, const std::string& flag, std::string* model, const std::string& whose) {
  const std::string what = whose.empty() ? "RWKV-7 checkpoint" : whose + "RWKV-7 checkpoint";
  return sub.add_option(flag, *model, what + " (.pth or .safetensors), or a fetched model's name")
      ->transform(fetched_name_or_path());
}

CLI::Option* add_vocab_option(CLI::App& sub, std::string* vocab, const std::string& note) {
  return sub
      .add_option("--vocab", *vocab,
                  "rwkv_vocab_v20230424.txt, or rwkv-world-vocab (fetched)" + (note.empty() ? "" : " (" + note + ")"))
      ->transform(fetched_name_or_path());
}

CLI::Validator positive_count() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        long long n = 0;
        size_t used = 0;
        try {
          n = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size() || n < 1) return "expected a whole number >= 1, got '" + text + "'";
        return std::string();
      },
      "INT>=1");
}

void apply_threads(int threads) {
  at::set_num_threads(threads);
}

}  // namespace statetune::orchestrator
