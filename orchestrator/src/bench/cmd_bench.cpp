// statetune bench <what>: benchmark programs that print figures (never timed unit tests).
// Figures that are compared are measured in the same run, since these machines are noisy.
#include <CLI/CLI.hpp>
#include <cstdio>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/workers/host_device.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {
namespace {

double mib(std::int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

void add_bench_model(CLI::App& bench) {
  auto* sub = bench.add_subcommand(
      "model", "Tokens/s of sequence-mode scoring (no grad) on a random model; default: the 0.1B shape");
  struct Options {
    workers::ModelConfig config;
    std::vector<int64_t> batches{1, 4};
    int64_t seq_len = 512;
    int repeats = 3;
    int threads = 1;
    PlacementOptions placement;
  };
  auto o = std::make_shared<Options>();
  o->config.n_layer = 12;
  o->config.n_embd = 768;
  o->config.head_size = 64;
  o->config.vocab_size = 65536;
  o->config.rank_w = 64;
  o->config.rank_a = 64;
  o->config.rank_v = 32;
  o->config.rank_g = 128;
  sub->add_option("--layers", o->config.n_layer)->capture_default_str();
  sub->add_option("--dim", o->config.n_embd)->capture_default_str();
  sub->add_option("--head-size", o->config.head_size)->capture_default_str();
  sub->add_option("--vocab", o->config.vocab_size)->capture_default_str();
  sub->add_option("--seq-len", o->seq_len, "Tokens per sequence T")->capture_default_str();
  sub->add_option("--batch", o->batches, "Batch sizes to run, e.g. 1,4")->delimiter(',')->capture_default_str();
  sub->add_option("--repeats", o->repeats, "Timed repeats per batch size (after one warm-up)")
      ->capture_default_str()
      ->check(positive_count());
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    apply_threads(o->threads);
    const Placement where = o->placement.resolve();
    workers::ModelConfig c = o->config;
    ST_CHECK(c.n_embd % c.head_size == 0, "--dim must be a multiple of --head-size");
    c.n_head = c.n_embd / c.head_size;
    std::printf("bench model: L=%lld C=%lld N=%lld V=%lld, T=%lld, threads=%d, %s\n",
                static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
                static_cast<long long>(c.head_size), static_cast<long long>(c.vocab_size),
                static_cast<long long>(o->seq_len), o->threads, where.describe().c_str());
    workers::Rwkv7Model model(workers::init_random_model(c, 1), "random model", where.weights_dtype, where.device);
    std::printf("model loaded, resident memory %.0f MiB, weights %.0f MiB on %s\n", mib(current_rss_bytes()),
                mib(model.weight_bytes()), where.device.str().c_str());
    std::printf("%6s %12s %12s %14s %14s\n", "batch", "seconds", "tokens/s", "peak RSS MiB", "peak GPU MiB");
    at::NoGradGuard no_grad;
    for (int64_t B : o->batches) {
      ST_CHECK(B > 0, "--batch: sizes must be positive");
      const at::Tensor tokens = workers::to_device(at::randint(0, c.vocab_size, {B, o->seq_len}, at::kLong), where.device);
      where.reset_peak_memory();
      model.forward(tokens);  // warm-up
      where.synchronize();
      Timer timer;
      for (int i = 0; i < o->repeats; ++i) model.forward(tokens);
      where.synchronize();
      const double seconds = timer.seconds() / o->repeats;
      std::printf("%6lld %12.3f %12.1f %14.0f %14.0f\n", static_cast<long long>(B), seconds,
                  static_cast<double>(B * o->seq_len) / seconds, mib(peak_rss_bytes()), where.peak_memory_mib());
      std::fflush(stdout);
    }
  });
}

void add_bench_tokenizer(CLI::App& bench) {
  auto* sub = bench.add_subcommand("tokenizer", "Encoding speed of the RWKV World tokenizer on ~1 MB of text");
  auto vocab = std::make_shared<std::string>();
  sub->add_option("--vocab", *vocab, "rwkv_vocab_v20230424.txt")->required();
  set_command_body(*sub, [vocab] {
    Timer load_timer;
    auto tokenizer = data::Tokenizer::load(*vocab);
    const double load_s = load_timer.seconds();
    // Mixed scripts, digits, code and whitespace, repeated to 1 MiB.
    const std::string sample =
        "The quick brown fox jumps over the lazy dog. 12345 + 678 = 13023\n"
        "def f(x):\n    return x ** 2  # squares\n"
        "状态调优是一种测试时扩展方法。Émilie a mangé des crêpes. Привет, мир! 🙂🚀\n\n";
    std::string text;
    while (text.size() < (1u << 20)) text += sample;
    text.resize(1u << 20);
    tokenizer.encode(text);  // warm-up
    double best = 1e30;
    size_t tokens = 0;
    for (int i = 0; i < 5; ++i) {
      Timer timer;
      tokens = tokenizer.encode(text).size();
      best = std::min(best, timer.seconds());
    }
    std::printf("vocab load: %.1f ms\nencode 1 MiB: %.1f ms (best of 5), %zu tokens, %.1f MB/s\n", load_s * 1e3,
                best * 1e3, tokens, 1.048576 / best);
  });
}

}  // namespace

void add_bench_kernels(CLI::App& bench);
void add_bench_eval(CLI::App& bench);
void add_bench_tune(CLI::App& bench);
void add_bench_study(CLI::App& bench);

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "Benchmark programs (print figures)");
  bench->require_subcommand(1);
  add_bench_model(*bench);
  add_bench_tokenizer(*bench);
  add_bench_kernels(*bench);
  add_bench_eval(*bench);
  add_bench_tune(*bench);
  add_bench_study(*bench);
}

}  // namespace statetune::orchestrator
