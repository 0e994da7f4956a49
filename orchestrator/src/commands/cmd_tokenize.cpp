// statetune tokenize: text -> RWKV World token ids.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/text_input.h"

namespace statetune::orchestrator {

void add_tokenize_command(CLI::App& app) {
  auto* sub = app.add_subcommand("tokenize", "Print the RWKV World token ids of a text");
  struct Options {
    std::string vocab;
    TextInput text;
    bool json = false;
  };
  auto opts = std::make_shared<Options>();
  sub->add_option("--vocab", opts->vocab, "rwkv_vocab_v20230424.txt")->required();
  add_text_input_options(*sub, opts->text, /*with_tokens=*/false);
  sub->add_flag("--json", opts->json, "Print {\"ids\": [...], \"tokens\": [...]} as JSON");
  set_command_body(*sub, [opts] {
    auto tokenizer = data::Tokenizer::load(opts->vocab);
    const std::string text = read_text_input(opts->text);
    std::vector<int32_t> ids = tokenizer.encode(text);
    if (opts->json) {
      nlohmann::json pieces = nlohmann::json::array();
      for (int32_t id : ids) pieces.push_back(tokenizer.token_bytes(id));
      nlohmann::json out{{"ids", ids}, {"tokens", pieces}};
      std::puts(out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      std::string line;
      for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
      std::puts(line.c_str());
    }
  });
}

}  // namespace statetune::orchestrator
