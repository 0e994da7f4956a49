#include "statetune/orchestrator/cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "statetune/common/error.h"
#include "statetune/orchestrator/commands.h"

namespace statetune::orchestrator {

int run_cli(int argc, char** argv) {
  CLI::App app{"statetune: state tuning of frozen RWKV-7 models, and the ablation studies around it"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "statetune 0.1.0");
  for (const auto& add : all_commands()) add(app);
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
