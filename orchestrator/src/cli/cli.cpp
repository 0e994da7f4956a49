#include "statetune/orchestrator/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "statetune/common/error.h"
#include "statetune/common/suggestion.h"
#include "statetune/orchestrator/commands.h"

namespace statetune::orchestrator {
namespace {

// CLI11 answers a misspelt command ("statetune tunee") with "A subcommand is required", which
// hides the typo. The error for the first word that names no command of its group (the
// top level, or e.g. `bench`), with the closest command; "" when every command word is known.
std::string unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* group = &app;
  std::string said = "statetune";
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;  // --help, --version: no group takes values
    std::vector<std::string> names;
    CLI::App* next = nullptr;
    // Named ones only: CLI11's option groups are subcommands without a name.
    for (CLI::App* sub : group->get_subcommands([](CLI::App* s) { return !s->get_name().empty(); })) {
      names.push_back(sub->get_name());
      if (sub->check_name(word)) next = sub;
    }
    if (names.empty()) return "";  // a command's own arguments
    if (next == nullptr) {
      const std::string match = closest_match(word, names);
      if (!match.empty()) return fmt::format("unknown command '{}' (did you mean '{} {}'?)", word, said, match);
      std::string list;
      for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
      return fmt::format("unknown command '{}'; the commands of {}: {} ({} --help says what each does)", word, said,
                         list, said);
    }
    said += " " + next->get_name();
    group = next;
  }
  return "";
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"statetune: state tuning of frozen RWKV-7 models, and the ablation studies around it"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "statetune 0.1.0");
  for (const auto& add : all_commands()) add(app);
  if (const std::string unknown = unknown_command(app, argc, argv); !unknown.empty()) {
    std::fprintf(stderr, "statetune: error: %s\n", unknown.c_str());
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 prints the message (or the help); its own codes vary by error kind, ours is 2.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (auto* sub : app.get_subcommands()) {
      run_selected(*sub);
    }
    return exit_status();
  } catch (const statetune::Error& e) {
    std::fprintf(stderr, "statetune: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "statetune: internal error: %s\n", e.what());
    return 1;
  }
}

}  // namespace statetune::orchestrator
