// statetune report: a study file's runs by status and its eval metric per configuration.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "statetune/common/file_io.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/results/report.h"
#include "statetune/results/study_reader.h"

namespace statetune::orchestrator {

void add_report_command(CLI::App& app) {
  auto* sub = app.add_subcommand("report", "Summarise a study's results file: runs by status, metric per configuration");
  struct Options {
    std::string file;
    results::ReportOptions report;
    std::string csv;
  };
  auto opts = std::make_shared<Options>();
  sub->add_option("RESULTS", opts->file, "The study's HDF5 results file")->required();
  sub->add_option("--group-by", opts->report.group_by,
                  "Axes of a row (repeatable; default: every axis except seed, so seeds are averaged)");
  sub->add_option("--metric", opts->report.metric, "Eval metric to show (default: acc, else the first one)");
  sub->add_option("--csv", opts->csv, "Also write every run's metrics as long-format CSV to this file");
  set_command_body(*sub, [opts] {
    const auto reader = results::StudyReader::open(opts->file);
    std::fputs(results::format_report(reader, opts->report).c_str(), stdout);
    if (!opts->csv.empty()) {
      write_file_atomic(opts->csv, results::report_csv(reader));
      std::printf("wrote %s\n", opts->csv.c_str());
    }
  });
}

}  // namespace statetune::orchestrator
