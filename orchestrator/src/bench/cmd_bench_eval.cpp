// statetune bench eval: items/s of benchmark scoring on a random model of the 0.1B shape, with
// the context's state shared across an item's choices and without, measured in the same run.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <ATen/Parallel.h>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/data/benchmark.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/workers/evaluator.h"
#include "statetune/workers/init_model.h"

namespace statetune::orchestrator {

namespace {

struct BenchEvalOptions {
  std::string vocab = "../shared/data/tokenizer/rwkv_vocab_v20230424.txt";
  std::string benchmarks = "../shared/data/benchmarks";
  std::vector<std::string> which{"arc_challenge", "mmlu"};
  int64_t items = 8;
  int num_fewshot = 5;
  int threads = 2;
  PlacementOptions placement;
};

// The split each benchmark is measured on, inside the shared benchmarks folder.
std::string split_path(const std::string& root, data::Benchmark b) {
  switch (b) {
    case data::Benchmark::mmlu: return root + "/mmlu/eval";
    case data::Benchmark::arc_challenge: return root + "/arc_challenge/eval.jsonl";
    case data::Benchmark::winogrande: return root + "/winogrande/eval.jsonl";
    case data::Benchmark::gsm8k: break;
  }
  fail("bench eval: {} is a generation benchmark; it has no choices to share a context across", data::benchmark_name(b));
}

// Seconds to score every item's choices with each mode. The modes alternate item by item, so
// load from other processes on a shared machine slows both alike and the ratio stays fair.
struct Timing {
  double shared_s = 0, unshared_s = 0, max_diff = 0;
};
Timing time_scoring(const workers::Rwkv7Model& model, const std::vector<std::vector<workers::ChoiceTokens>>& items) {
  Timing t;
  for (const auto& choices : items) {
    Timer shared_timer;
    const std::vector<double> shared = workers::choice_logliks(model, choices, nullptr, workers::ContextSharing::shared);
    t.shared_s += shared_timer.seconds();
    Timer unshared_timer;
    const std::vector<double> unshared =
        workers::choice_logliks(model, choices, nullptr, workers::ContextSharing::unshared);
    t.unshared_s += unshared_timer.seconds();
    for (size_t i = 0; i < shared.size(); ++i) t.max_diff = std::max(t.max_diff, std::abs(shared[i] - unshared[i]));
  }
  return t;
}

void run_bench_eval(const BenchEvalOptions& o) {
  apply_threads(o.threads);
  workers::ModelConfig c;
  c.n_layer = 12;
  c.n_embd = 768;
  c.head_size = 64;
  c.n_head = 12;
  c.vocab_size = 65536;
  c.rank_w = 64;
  c.rank_a = 64;
  c.rank_v = 32;
  c.rank_g = 128;
  const data::Tokenizer tokenizer = data::Tokenizer::load(o.vocab);
  const Placement where = o.placement.resolve();
  const workers::Rwkv7Model model(workers::init_random_model(c, 1), "random 0.1B model", where.weights_dtype,
                                  where.device);
  const workers::Evaluator evaluator(model, tokenizer);
  std::printf("bench eval: random model L=12 C=768 V=65536 (0.1B shape), %s, threads=%d, %d-shot, first %lld "
              "items\n",
              where.describe().c_str(), o.threads, o.num_fewshot, static_cast<long long>(o.items));
  std::printf("%-14s %6s %8s %8s %13s %15s %9s %12s\n", "benchmark", "items", "choices", "tokens", "shared it/s",
              "unshared it/s", "speed-up", "max |dLL|");
  for (const std::string& name : o.which) {
    const data::Benchmark b = data::parse_benchmark(name);
    data::BenchmarkOptions bo;
    bo.num_fewshot = o.num_fewshot;
    data::RenderedBenchmark rendered = data::load_benchmark(b, split_path(o.benchmarks, b), bo);
    ST_CHECK(!rendered.mc.empty(), "bench eval: {} has no items", name);
    const auto n = std::min(rendered.mc.size(), static_cast<size_t>(o.items));
    std::vector<std::vector<workers::ChoiceTokens>> items;
    size_t choices = 0, tokens = 0;  // tokens: all choices' full sequences, what unshared reads
    for (size_t i = 0; i < n; ++i) {
      items.push_back(evaluator.tokenize(rendered.mc[i]));
      choices += items.back().size();
      for (const auto& ch : items.back()) tokens += ch.tokens.size();
    }
    time_scoring(model, {items[0]});  // warm-up
    const Timing t = time_scoring(model, items);
    const double items_d = static_cast<double>(n);
    std::printf("%-14s %6zu %8.1f %8.0f %13.3f %15.3f %8.2fx %12.2e\n", name.c_str(), n,
                static_cast<double>(choices) / items_d, static_cast<double>(tokens) / items_d, items_d / t.shared_s,
                items_d / t.unshared_s, t.unshared_s / t.shared_s, t.max_diff);
    std::fflush(stdout);
  }
  std::printf("tokens: mean tokens per item over all choices' full sequences (what the unshared path reads)\n");
}

}  // namespace

void add_bench_eval(CLI::App& bench) {
  auto* sub = bench.add_subcommand(
      "eval", "Items/s of multiple-choice scoring on a random 0.1B-shape model: shared context state vs unshared");
  auto o = std::make_shared<BenchEvalOptions>();
  sub->add_option("--vocab", o->vocab, "rwkv_vocab_v20230424.txt")->capture_default_str();
  sub->add_option("--benchmarks", o->benchmarks, "Folder holding arc_challenge/, mmlu/, winogrande/")
      ->capture_default_str();
  sub->add_option("--benchmark", o->which, "Benchmarks to run, e.g. arc_challenge,mmlu")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--items", o->items, "Items per benchmark (the first N)")
      ->capture_default_str()
      ->check(positive_count());
  sub->add_option("--num-fewshot", o->num_fewshot, "Few-shot examples")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--threads", o->threads, "Worker threads")->capture_default_str()->check(positive_count());
  add_placement_options(*sub, o->placement);
  set_command_body(*sub, [o] { run_bench_eval(*o); });
}

}  // namespace statetune::orchestrator
