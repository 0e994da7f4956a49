// statetune merge: combine the results files of a study's array tasks into one.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "statetune/orchestrator/commands.h"
#include "statetune/results/merge.h"

namespace statetune::orchestrator {

void add_merge_command(CLI::App& app) {
  auto* sub = app.add_subcommand("merge", "Combine the results files of one study (array tasks) into a new file");
  struct Options {
    std::string out;
    std::vector<std::string> inputs;
  };
  auto opts = std::make_shared<Options>();
  sub->add_option("OUT", opts->out, "The merged study file to write (must not exist)")->required();
  sub->add_option("INPUTS", opts->inputs, "The study files to combine")->required();
  set_command_body(*sub, [opts] {
    const auto summary = results::merge_studies(opts->inputs, opts->out);
    std::printf("merged %zu files into %s: %zu runs (%zu duplicates)\n", opts->inputs.size(), opts->out.c_str(),
                summary.runs, summary.duplicates);
  });
}

}  // namespace statetune::orchestrator
