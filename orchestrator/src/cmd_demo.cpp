// statetune demo: the built-in demo the README's first command runs. Needs no download:
// it creates a small seeded model, scores a text with it and generates from it.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/model_inputs.h"
#include "statetune/orchestrator/text_input.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/state_file.h"

namespace statetune::orchestrator {
namespace {

// Without a vocab file the demo uses the World vocabulary's single-byte tokens (id = byte + 1),
// which need no file: the same ids the real tokenizer gives for those bytes.
struct DemoTokenizer {
  std::unique_ptr<data::Tokenizer> real;
  std::vector<int64_t> encode(const std::string& text) const {
    std::vector<int64_t> ids;
    if (real) {
      for (int32_t id : real->encode(text)) ids.push_back(id);
    } else {
      for (unsigned char c : text) ids.push_back(static_cast<int64_t>(c) + 1);
    }
    return ids;
  }
  std::string bytes(int64_t id) const {
    if (real) return id > 0 && id < real->vocab_size() ? real->token_bytes(static_cast<int32_t>(id)) : "";
    return id >= 1 && id <= 256 ? std::string(1, static_cast<char>(id - 1)) : "";
  }
};

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* sub = app.add_subcommand("demo", "The built-in demo: create a seeded model, score a text, generate (no download)");
  struct Options {
    std::string vocab, out = "statetune-demo";
    int threads = 1;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("--vocab", o->vocab,
                  "rwkv_vocab_v20230424.txt (optional; without it the demo uses the byte tokens 1..256)");
  sub->add_option("--out", o->out, "Folder for the demo's files")->capture_default_str();
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    apply_threads(o->threads);
    Timer total;
    std::filesystem::create_directories(o->out);
    DemoTokenizer tok;
    if (!o->vocab.empty()) tok.real = std::make_unique<data::Tokenizer>(data::Tokenizer::load(o->vocab));
    std::printf("statetune demo (%s tokenizer, %d threads)\n\n", tok.real ? "RWKV World" : "byte-level", o->threads);

    workers::ModelConfig c;
    c.n_layer = 4;
    c.n_embd = 256;
    c.head_size = 64;
    c.n_head = 4;
    c.vocab_size = 65536;
    c.rank_w = c.rank_a = 32;
    c.rank_v = 32;
    c.rank_g = 64;
    const std::string model_path = o->out + "/demo-model.pth";
    std::printf("1. init-model: L=%lld C=%lld H=%lld N=%lld V=%lld, seed 42 -> %s\n",
                static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
                static_cast<long long>(c.n_head), static_cast<long long>(c.head_size),
                static_cast<long long>(c.vocab_size), model_path.c_str());
    workers::save_checkpoint(model_path, workers::init_random_model(c, 42));
    workers::Rwkv7Model model = workers::Rwkv7Model::load(model_path);

    const std::string text = "State tuning trains only the initial state of a frozen RWKV-7 model.";
    std::vector<int64_t> ids{0};
    for (int64_t id : tok.encode(text)) ids.push_back(id);
    workers::TokenScores zero = workers::score_tokens(model, ids, {});
    std::printf("\n2. score (zero state): \"%s\"\n   %lld tokens scored, total NLL %.3f nats, perplexity %.1f\n",
                text.c_str(), static_cast<long long>(zero.scored), zero.total_nll,
                std::exp(zero.total_nll / zero.scored));
    std::printf("   first tokens:");
    for (int64_t t = 1; t < std::min<int64_t>(6, static_cast<int64_t>(ids.size())); ++t)
      std::printf(" [%s %.2f]", printable_token(tok.bytes(ids[t])).c_str(), zero.logprob[t]);
    std::printf("\n");

    // A state file in the RWKV-PEFT format: the state after reading a prefix, saved and loaded
    // back the way `score --state` does, changes the scores of the same text.
    workers::ModelState after_prefix;
    {
      at::NoGradGuard no_grad;
      std::vector<int64_t> prefix{0};
      for (int64_t id : tok.encode("Answer briefly. ")) prefix.push_back(id);
      model.forward(at::tensor(prefix, at::kLong).unsqueeze(0), at::Tensor(), nullptr, &after_prefix);
    }
    std::vector<at::Tensor> wkv;
    for (auto& l : after_prefix) wkv.push_back(l.wkv.squeeze(0));
    const std::string state_path = o->out + "/demo-state.pth";
    workers::save_time_states(state_path, wkv);
    workers::TokenScores with_state = workers::score_tokens(model, ids, initial_state_from_file(state_path, model));
    std::printf("\n3. score --state %s (the WKV state after \"Answer briefly. \"):\n   total NLL %.3f nats "
                "(zero state: %.3f)\n",
                state_path.c_str(), with_state.total_nll, zero.total_nll);

    std::printf("\n4. generate (temperature 1, top-p 0.85, seed 7, 40 tokens):\n   ");
    std::string prompt = "The answer is";
    std::vector<int64_t> prompt_ids{0};
    for (int64_t id : tok.encode(prompt)) prompt_ids.push_back(id);
    workers::GenerationOptions gen;
    gen.max_tokens = 40;
    gen.seed = 7;
    data::Utf8StreamDecoder decoder;
    std::fputs(prompt.c_str(), stdout);
    auto out = workers::generate(model, prompt_ids, {}, gen, [&](int64_t id) {
      std::fputs(printable_token(decoder.push(tok.bytes(id))).c_str(), stdout);
      std::fflush(stdout);
    });
    std::fputs(printable_token(decoder.flush()).c_str(), stdout);
    std::printf("\n   (%zu tokens)\n", out.size());
    std::printf("\nThe weights are random: this shows the machinery (checkpoint format, exact model, scoring,\n"
                "state files, generation), not language ability. Done in %.1f s.\n",
                total.seconds());
  });
}

}  // namespace statetune::orchestrator
