// statetune init-model: a seeded random RWKV-7 checkpoint in the official format.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>

#include "statetune/common/error.h"
#include "statetune/common/log.h"
#include "statetune/common/output_path.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/init_model.h"

namespace statetune::orchestrator {
namespace {

// The LoRA ranks of the official training code for width C (RWKV-LM train_temp):
// 64/64/32/128 at C=768, 96/96/64/256 at C=2048.
int64_t official_rank(double factor, double exponent, int64_t C) {
  return std::max<int64_t>(32, static_cast<int64_t>(std::lround(factor * std::pow(C, exponent) / 32.0)) * 32);
}

}  // namespace

void add_init_model_command(CLI::App& app) {
  auto* sub = app.add_subcommand("init-model", "Write a seeded random RWKV-7 model in the official .pth format");
  struct Options {
    workers::ModelConfig config;
    std::vector<int64_t> ranks;
    uint64_t seed = 0;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  o->config.head_size = 64;
  sub->add_option("--layers", o->config.n_layer, "Number of layers")->required()->check(positive_count());
  sub->add_option("--dim", o->config.n_embd, "Model width C")->required()->check(positive_count());
  sub->add_option("--head-size", o->config.head_size, "Head size N (C must be a multiple)")
      ->capture_default_str()
      ->check(positive_count());
  sub->add_option("--vocab", o->config.vocab_size, "Vocabulary size")->required()->check(positive_count());
  sub->add_option("--ranks", o->ranks,
                  "LoRA ranks w,a,v,g (default: the official training code's choice for this width)")
      ->delimiter(',')
      ->expected(4);
  sub->add_option("--seed", o->seed, "Random seed")->required();
  sub->add_option("--out", o->out, "Output file (.pth; .safetensors by extension)")->required();
  set_command_body(*sub, [o] {
    prepare_output_path(o->out, "--out");  // before the (for a large model, slow) initialisation
    workers::ModelConfig c = o->config;
    ST_CHECK(c.n_embd % c.head_size == 0, "--dim {} is not a multiple of --head-size {}", c.n_embd, c.head_size);
    c.n_head = c.n_embd / c.head_size;
    if (o->ranks.empty()) {
      c.rank_w = official_rank(1.8, 0.5, c.n_embd);
      c.rank_a = official_rank(1.8, 0.5, c.n_embd);
      c.rank_v = official_rank(1.3, 0.5, c.n_embd);
      c.rank_g = official_rank(0.6, 0.8, c.n_embd);
    } else {
      for (int64_t r : o->ranks) ST_CHECK(r > 0, "--ranks: every rank must be positive, got {}", r);
      c.rank_w = o->ranks[0];
      c.rank_a = o->ranks[1];
      c.rank_v = o->ranks[2];
      c.rank_g = o->ranks[3];
    }
    workers::save_checkpoint(o->out, workers::init_random_model(c, o->seed));
    log::info("wrote {}: L={} C={} H={} N={} V={} ranks w/a/v/g={}/{}/{}/{} seed={}", o->out, c.n_layer, c.n_embd,
              c.n_head, c.head_size, c.vocab_size, c.rank_w, c.rank_a, c.rank_v, c.rank_g, o->seed);
  });
}

}  // namespace statetune::orchestrator
