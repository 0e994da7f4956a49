// statetune generate: RNN-style sampling (step mode) from a prompt, streamed as UTF-8.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "statetune/common/error.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/model_inputs.h"
#include "statetune/workers/generation.h"

namespace statetune::orchestrator {

void add_generate_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "generate",
      "Continue a prompt (preceded by token 0, as score does), one token at a time; stops at token 0 "
      "or --max-tokens");
  struct Options {
    std::string model, vocab, prompt, state;
    int max_tokens = 100;
    double temperature = 1.0, top_p = 0.85;
    uint64_t seed = 0;
    int threads = 1;
    PlacementOptions placement;
  };
  auto o = std::make_shared<Options>();
  add_model_option(*sub, "--model", &o->model)->required();
  add_vocab_option(*sub, &o->vocab)->required();
  sub->add_option("--prompt", o->prompt, "The prompt text")->required();
  sub->add_option("--state", o->state, "Tuned-state file to start from");
  sub->add_option("--max-tokens", o->max_tokens, "Tokens to generate at most")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--temperature", o->temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", o->top_p, "Nucleus sampling mass in (0, 1]")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--seed", o->seed, "Sampling seed")->capture_default_str();
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    apply_threads(o->threads);
    auto tokenizer = data::Tokenizer::load(o->vocab);
    const Placement where = o->placement.resolve();
    where.announce();
    workers::Rwkv7Model model = where.load_model(o->model);
    std::vector<int64_t> prompt{data::Tokenizer::kEndOfText};
    for (int32_t id : tokenizer.encode(o->prompt)) prompt.push_back(id);
    workers::GenerationOptions gen;
    gen.max_tokens = o->max_tokens;
    gen.temperature = o->temperature;
    gen.top_p = o->top_p;
    gen.seed = o->seed;
    data::Utf8StreamDecoder decoder;
    std::fputs(o->prompt.c_str(), stdout);
    workers::generate(model, prompt, initial_state_from_file(o->state, model), gen, [&](int64_t id) {
      // Ids past the vocabulary (a model's padding rows) have no text.
      if (id < tokenizer.vocab_size())
        std::fputs(decoder.push(tokenizer.token_bytes(static_cast<int32_t>(id))).c_str(), stdout);
      std::fflush(stdout);
    });
    std::fputs(decoder.flush().c_str(), stdout);
    std::fputs("\n", stdout);
  });
}

}  // namespace statetune::orchestrator
