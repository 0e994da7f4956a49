// statetune score: per-token log-probabilities of a text under the model.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/npy.h"
#include "statetune/common/output_path.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/orchestrator/model_inputs.h"
#include "statetune/orchestrator/text_input.h"
#include "statetune/workers/generation.h"

namespace statetune::orchestrator {

void add_score_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "score",
      "Print each token's log-probability given the tokens before it, then the total NLL and perplexity.\n"
      "Text is preceded by token 0 (end-of-text), as the official evaluations do; --tokens are used exactly.");
  struct Options {
    std::string model, vocab, state, logits_out;
    TextInput input;
    bool json = false;
    int threads = 1;
    PlacementOptions placement;
  };
  auto o = std::make_shared<Options>();
  add_model_option(*sub, "--model", &o->model)->required();
  add_vocab_option(*sub, &o->vocab, "required with --text/--text-file");
  add_text_input_options(*sub, o->input, /*with_tokens=*/true);
  sub->add_option("--state", o->state, "Tuned-state file (blocks.{i}.att.time_state) to start from");
  sub->add_option("--logits-out", o->logits_out, "Write float32 [T, V] logits as .npy (row t: after token t)");
  sub->add_flag("--json", o->json, "Print the result as JSON");
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] {
    apply_threads(o->threads);
    if (!o->logits_out.empty()) prepare_output_path(o->logits_out, "--logits-out");
    std::vector<int64_t> ids;
    std::unique_ptr<data::Tokenizer> tokenizer;
    if (!o->vocab.empty()) tokenizer = std::make_unique<data::Tokenizer>(data::Tokenizer::load(o->vocab));
    if (!o->input.tokens.empty()) {
      ids = parse_token_list(o->input.tokens);
    } else {
      ST_CHECK(tokenizer != nullptr, "score: --vocab is required to tokenize --text/--text-file");
      ids.push_back(data::Tokenizer::kEndOfText);
      for (int32_t id : tokenizer->encode(read_text_input(o->input))) ids.push_back(id);
    }
    ST_CHECK(!ids.empty(), "score: no tokens to score");
    const Placement where = o->placement.resolve();
    where.announce();
    workers::Rwkv7Model model = where.load_model(o->model);
    const workers::TokenScores scores = workers::score_tokens(model, ids, initial_state_from_file(o->state, model));
    const int64_t T = static_cast<int64_t>(ids.size());
    if (!o->logits_out.empty())
      write_npy_f32(o->logits_out, scores.logits.data_ptr<float>(), {T, scores.logits.size(1)});
    auto piece = [&](int64_t id) {
      return tokenizer && id < tokenizer->vocab_size() ? tokenizer->token_bytes(static_cast<int32_t>(id))
                                                       : std::string();
    };
    const std::vector<double>& token_logp = scores.logprob;
    const double nll = scores.total_nll;
    const int64_t scored = scores.scored;
    const double ppl = scored > 0 ? std::exp(nll / scored) : NAN;
    if (o->json) {
      nlohmann::json tokens = nlohmann::json::array();
      for (int64_t t = 0; t < T; ++t) {
        nlohmann::json row{{"position", t}, {"id", ids[t]}, {"token", piece(ids[t])}};
        row["logprob"] = t == 0 ? nlohmann::json(nullptr) : nlohmann::json(token_logp[t]);
        tokens.push_back(row);
      }
      nlohmann::json out{{"tokens", tokens}, {"scored_tokens", scored}, {"total_nll", nll},
                         {"perplexity", scored > 0 ? nlohmann::json(ppl) : nlohmann::json(nullptr)}};
      std::puts(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      return;
    }
    std::printf("%6s %7s  %-24s %12s\n", "pos", "id", "token", "logprob");
    for (int64_t t = 0; t < T; ++t) {
      std::string shown = printable_token(piece(ids[t]));
      if (t == 0) {
        std::printf("%6lld %7lld  %-24s %12s\n", static_cast<long long>(t), static_cast<long long>(ids[t]),
                    shown.c_str(), "(context)");
      } else {
        std::printf("%6lld %7lld  %-24s %12.6f\n", static_cast<long long>(t), static_cast<long long>(ids[t]),
                    shown.c_str(), token_logp[t]);
      }
    }
    std::printf("scored tokens: %lld\ntotal NLL: %.6f nats\nperplexity: %.6f\n", static_cast<long long>(scored), nll,
                ppl);
  });
}

}  // namespace statetune::orchestrator
