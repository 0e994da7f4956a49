// statetune eval: a benchmark scored as lm-evaluation-harness scores it (data/prompts.h,
// workers/evaluator.h), from the model's zero state or a tuned state.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/output_path.h"
#include "statetune/common/timer.h"
#include "statetune/data/benchmark.h"
#include "statetune/data/eval_records.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "cli/item_progress.h"
#include "statetune/fetch/cache.h"
#include "statetune/orchestrator/model_inputs.h"
#include "statetune/workers/evaluator.h"

namespace statetune::orchestrator {

namespace {

struct EvalOptions {
  std::string model, vocab, benchmark, data, state, json, fewshot_data, labels, on_error = "fail";
  int num_fewshot = -1;
  int64_t limit = -1;
  int64_t write_out = 0;
  uint64_t seed = 1234;
  int max_gen_tokens = 256;
  bool unshared = false;
  int threads = 1;
  PlacementOptions placement;
};

// JSON string literal: shows leading spaces and newlines of a continuation unambiguously.
std::string quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_out_mc(const data::McRequest& r) {
  std::printf("=== %s (gold: choice %d)\n", r.id.c_str(), r.gold);
  for (size_t i = 0; i < r.num_choices(); ++i) {
    if (i == 0 || r.contexts.size() > 1) {
      std::printf("--- context%s:\n%s\n--- end of context\n",
                  r.contexts.size() > 1 ? fmt::format(" of choice {}", i).c_str() : " (shared by all choices)",
                  r.context(i).c_str());
    }
    std::printf("--- choice %zu continuation: %s\n", i, quoted(r.continuation(i)).c_str());
  }
}

void write_out_gen(const data::GenRequest& r) {
  std::printf("=== %s (gold: %s)\n--- prompt:\n%s\n--- end of prompt\n--- stop: ", r.id.c_str(), r.gold.c_str(),
              r.prompt.c_str());
  for (const std::string& s : r.stop) std::printf("%s ", quoted(s).c_str());
  std::printf("\n");
}

// lm-eval's standard error of a mean of 0/1 scores: sqrt(p (1 - p) / (n - 1)).
double stderr_of(double p, size_t n) { return n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1)) : 0.0; }

void print_metric(const char* name, double p, size_t n) {
  std::printf("%-30s %8.4f  ± %.4f\n", name, p, stderr_of(p, n));
}

void print_mc_summary(const data::RenderedBenchmark& b, const std::vector<data::McRecord>& records) {
  const data::McSummary s = data::summarise(records);
  if (!s.by_subject.empty()) {
    std::printf("%-40s %6s %8s\n", "subject", "items", "acc");
    for (const auto& [subject, a] : s.by_subject)
      std::printf("%-40s %6zu %8.4f\n", subject.c_str(), a.count, a.rate());
    std::printf("\n");
  }
  print_metric("acc", s.overall.rate(), s.overall.count);
  // lm-eval reports acc_norm for ARC; for MMLU (one-letter choices) it equals acc, for
  // WinoGrande it divides by the context's length and is not reported.
  if (b.benchmark == data::Benchmark::arc_challenge) print_metric("acc_norm", s.overall.rate_norm(), s.overall.count);
}

void run_eval(const EvalOptions& o) {
  apply_threads(o.threads);
  if (!o.json.empty()) prepare_output_path(o.json, "--json");  // before the items are scored
  const data::Benchmark benchmark = data::parse_benchmark(o.benchmark);
  std::string split = o.data, pool = o.fewshot_data;
  if (split.empty()) {  // the fetched benchmark, splits as lm-evaluation-harness uses them
    const fetch::BenchmarkFiles files = fetch::fetched_benchmark(data::benchmark_name(benchmark));
    split = files.eval;
    if (pool.empty()) pool = files.fewshot;
  }
  data::BenchmarkOptions bo;
  bo.num_fewshot = o.num_fewshot;
  bo.fewshot_seed = o.seed;
  bo.read.on_error = data::parse_on_error(o.on_error);
  bo.fewshot_path = pool;
  bo.labels_path = o.labels;
  data::RenderedBenchmark b = data::load_benchmark(benchmark, split, bo);
  if (b.skipped > 0) {
    std::fprintf(stderr, "statetune: skipped %zu malformed record(s) (on_error: skip), e.g. %s\n", b.skipped,
                 b.skip_messages.front().c_str());
  }
  if (o.limit >= 0) {  // lm-eval's --limit: the first N items
    const auto n = static_cast<size_t>(o.limit);
    if (b.mc.size() > n) b.mc.resize(n);
    if (b.gen.size() > n) b.gen.resize(n);
  }
  ST_CHECK(b.size() > 0, "{}: no items to evaluate", o.data);
  for (size_t i = 0; i < static_cast<size_t>(std::max<int64_t>(o.write_out, 0)) && i < b.size(); ++i)
    data::is_generation(benchmark) ? write_out_gen(b.gen[i]) : write_out_mc(b.mc[i]);

  const data::Tokenizer tokenizer = data::Tokenizer::load(o.vocab);
  const Placement where = o.placement.resolve();
  where.announce();
  const workers::Rwkv7Model model = where.load_model(o.model);
  const workers::ModelState initial = initial_state_from_file(o.state, model);
  workers::EvaluatorOptions eo;
  eo.sharing = o.unshared ? workers::ContextSharing::unshared : workers::ContextSharing::shared;
  eo.max_gen_tokens = o.max_gen_tokens;
  const workers::Evaluator evaluator(model, tokenizer, &initial, eo);

  std::string json_lines;
  auto add_json = [&](nlohmann::json j) {
    if (o.json.empty()) return;
    j["benchmark"] = data::benchmark_name(benchmark);
    json_lines += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  };
  ItemProgress progress("eval", b.size());
  std::vector<data::McRecord> mc_records;
  std::vector<data::GenRecord> gen_records;
  for (const data::McRequest& r : b.mc) {
    mc_records.push_back(evaluator.score(r));
    add_json(data::to_json(mc_records.back()));
    progress.update(mc_records.size());
  }
  for (const data::GenRequest& r : b.gen) {
    gen_records.push_back(evaluator.generate(r));
    add_json(data::to_json(gen_records.back()));
    progress.update(gen_records.size());
  }
  if (!o.json.empty()) write_file_atomic(o.json, json_lines);

  const double seconds = progress.seconds();
  std::printf("\nbenchmark %s: %zu items, %d-shot, state: %s, %.1f s (%.2f items/s)\n\n",
              data::benchmark_name(benchmark), b.size(), b.num_fewshot, o.state.empty() ? "zero" : o.state.c_str(),
              seconds, static_cast<double>(b.size()) / seconds);
  if (data::is_generation(benchmark)) {
    const data::Accuracy a = data::summarise(gen_records);
    print_metric("exact_match,strict-match", a.rate(), a.count);
    print_metric("exact_match,flexible-extract", a.rate_norm(), a.count);
  } else {
    print_mc_summary(b, mc_records);
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "eval",
      "Score a benchmark (arc_challenge, mmlu, winogrande, gsm8k) exactly as lm-evaluation-harness v0.4 does:\n"
      "same prompts, log-likelihood multiple choice (acc, acc_norm; MMLU per subject), GSM8K greedy generation\n"
      "with strict and flexible exact match. Progress on stderr; a summary table on stdout.");
  auto o = std::make_shared<EvalOptions>();
  add_model_option(*sub, "--model", &o->model)->required();
  add_vocab_option(*sub, &o->vocab)->required();
  sub->add_option("--benchmark", o->benchmark, "arc_challenge | mmlu | winogrande | gsm8k")->required();
  sub->add_option("--data", o->data,
                  "The split to score: a JSONL file (ARC, WinoGrande, GSM8K) or a folder of <subject>_test.csv / "
                  "one such file (MMLU); default: the fetched benchmark's evaluation split (statetune fetch)");
  sub->add_option("--state", o->state, "Tuned-state file (blocks.{i}.att.time_state) to start from");
  sub->add_option("--num-fewshot", o->num_fewshot, "Few-shot examples (default: 5 for MMLU and GSM8K, else 0)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--fewshot-data", o->fewshot_data,
                  "Few-shot pool (default: the fetched pool, else train.jsonl beside --data; MMLU: the <subject>_dev.csv files)");
  sub->add_option("--seed", o->seed, "Seed of the few-shot draw")->capture_default_str();
  sub->add_option("--limit", o->limit, "Score only the first N items")->check(CLI::NonNegativeNumber);
  sub->add_option("--write-out", o->write_out, "Print the first N prompts exactly as scored")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--json", o->json, "Write one JSON line per item (id, log-likelihoods, prediction, gold, correct)");
  sub->add_option("--labels", o->labels, "WinoGrande answers in a separate labels file (upstream *-labels.lst)");
  sub->add_option("--on-error", o->on_error, "Malformed records: fail (default) or skip (counted)")
      ->check(CLI::IsMember({"fail", "skip"}));
  sub->add_option("--max-gen-tokens", o->max_gen_tokens, "GSM8K: tokens to generate at most")
      ->capture_default_str()
      ->check(positive_count());
  sub->add_flag("--no-share-context", o->unshared,
                "Run every choice's full sequence instead of sharing the context's state (same results, slower)");
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] { run_eval(*o); });
}

}  // namespace statetune::orchestrator
