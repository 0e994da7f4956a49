// statetune report: a study file's runs by status, its eval metric per configuration, the
// best configuration per benchmark, and on request a pivot table, a CSV and a figure.
#include <CLI/CLI.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/results/report.h"
#include "statetune/results/study_reader.h"

extern char** environ;

namespace statetune::orchestrator {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kPythonPackages = "apt install python3 python3-matplotlib python3-pandas python3-h5py python3-numpy";

// The folder holding results/python: $STATETUNE_PYTHON_DIR, else the source tree this binary
// was built from (orchestrator/CMakeLists.txt defines STATETUNE_PYTHON_DIR_DEFAULT).
std::string python_dir() {
  if (const char* dir = std::getenv("STATETUNE_PYTHON_DIR"); dir != nullptr && *dir != '\0') return dir;
  return STATETUNE_PYTHON_DIR_DEFAULT;
}

struct ProcessResult {
  int code = -1;
  std::string output;  // stdout and stderr together
};

// Runs argv[0] with argv (no shell, so paths need no quoting) and collects its output.
ProcessResult run_process(const std::vector<std::string>& args) {
  int fds[2];
  ST_CHECK(pipe(fds) == 0, "cannot create a pipe to run {}", args[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  ProcessResult result;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) result.output.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  ST_CHECK(spawned == 0, "cannot run {}: {}", args[0], std::strerror(spawned));
  int status = 0;
  waitpid(pid, &status, 0);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The last non-empty line: where the script (and Python's tracebacks) put the error.
std::string last_line(const std::string& text) {
  const auto end = text.find_last_not_of("\n\r ");
  if (end == std::string::npos) return "";
  const auto newline = text.rfind('\n', end);
  const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(start, end + 1 - start);
}

// --plot: loss curves and the metric against M and dbp_lambda (results/python/statetune_plot.py).
void write_plot(const std::string& study, const std::string& png, const std::string& metric) {
  if (access(kPython, X_OK) != 0) fail("--plot needs {} with matplotlib ({})", kPython, kPythonPackages);
  const std::string script = python_dir() + "/statetune_plot.py";
  if (!std::filesystem::exists(script)) {
    fail("--plot: {} not found (set STATETUNE_PYTHON_DIR to the folder holding statetune_plot.py)", script);
  }
  std::vector<std::string> args{kPython, script, study, png};
  if (!metric.empty()) args.insert(args.end(), {"--metric", metric});
  const ProcessResult r = run_process(args);
  if (r.code != 0) {
    const std::string why = last_line(r.output);
    fail("--plot: {}", why.empty() ? fmt::format("{} exited with status {}", script, r.code) : why);
  }
  if (!std::filesystem::exists(png)) fail("--plot: {} wrote no {}", script, png);
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto* sub = app.add_subcommand("report", "Summarise a study's results file: runs by status, metric per configuration");
  struct Options {
    std::string file;
    results::ReportOptions report;
    results::PivotOptions pivot;
    std::string csv;
    std::string plot;
  };
  auto opts = std::make_shared<Options>();
  sub->add_option("RESULTS", opts->file, "The study's HDF5 results file")->required();
  sub->add_option("--group-by", opts->report.group_by,
                  "Axes of a row (repeatable; default: every axis except seed, so seeds are averaged)");
  sub->add_option("--metric", opts->report.metric, "Eval metric to show (default: acc, else the first one)");
  sub->add_option("--csv", opts->csv, "Also write every run's metrics as long-format CSV to this file");
  auto* pivot = sub->add_option("--pivot", opts->pivot.rows,
                                "Also print a pivot table with these axes as rows (comma-separated, e.g. M)")
                    ->delimiter(',');
  sub->add_option("--cols", opts->pivot.cols, "The pivot table's column axes (comma-separated, e.g. gamma_scale)")
      ->delimiter(',')
      ->needs(pivot);
  sub->add_option("--value", opts->pivot.value,
                  "The pivot's cells: METRIC = after - before, METRIC.after, METRIC.before (default: the gain of "
                  "--metric); METRIC score: acc, or exact_match_strict for GSM8K")
      ->needs(pivot);
  sub->add_flag("--with-before", opts->pivot.with_before,
                "The pivot's first row: each column's mean before tuning (the untuned model; needs a .after or "
                ".before --value)")
      ->needs(pivot);
  sub->add_flag("--as-planned", opts->pivot.as_planned,
                "The pivot's rows and columns in the sweep's order (its grid and zip lists), not sorted")
      ->needs(pivot);
  sub->add_option("--plot", opts->plot,
                  "Also draw loss curves and the metric against M and dbp_lambda to this PNG (needs " +
                      std::string(kPython) + " with matplotlib)");
  set_command_body(*sub, [opts] {
    const auto reader = results::StudyReader::open(opts->file);
    std::string text = results::format_report(reader, opts->report);
    text += results::format_best_configurations(reader);
    if (!opts->pivot.rows.empty()) {
      if (opts->pivot.value.empty()) opts->pivot.value = opts->report.metric;
      text += results::format_pivot(reader, opts->pivot);
    }
    std::fputs(text.c_str(), stdout);
    if (!opts->csv.empty()) {
      write_file_atomic(opts->csv, results::report_csv(reader));
      std::printf("wrote %s\n", opts->csv.c_str());
    }
    if (!opts->plot.empty()) {
      std::fflush(stdout);
      write_plot(opts->file, opts->plot, opts->report.metric);
      std::printf("wrote %s\n", opts->plot.c_str());
    }
  });
}

}  // namespace statetune::orchestrator
