// statetune plan SWEEP.yaml [key=value ...] [--out RESULTS.h5]: what `statetune sweep` would
// run, without running anything. Prints the sweep's counts, one line per run (index, hash,
// axis values and, with --out, its status in the study file) and a tally of the statuses.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "statetune/orchestrator/commands.h"
#include "statetune/results/run_status.h"
#include "statetune/results/study_reader.h"
#include "statetune/sweeps/sweep.h"

namespace statetune::orchestrator {
namespace {

// Status of a run that the study file does not hold yet.
constexpr const char* kNew = "new";

// hash -> status of every run in an existing study file (statuses only: cheap for 10,000 runs).
std::unordered_map<std::string, std::string> statuses_in(const std::string& path) {
  std::unordered_map<std::string, std::string> out;
  for (const auto& [hash, status] : results::StudyReader::open(path, results::ReadDetail::kStatus).statuses())
    out.emplace(hash, std::string(results::to_string(status)));
  return out;
}

// Left-aligned columns, two spaces apart; the last column is not padded.
std::string format_columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()), 0);
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      out += row[c];
      if (c + 1 < row.size()) out.append(width[c] - row[c].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

// "done 2, failed 1, new 6", in the order reports list statuses, "new" last.
std::string tally_text(const std::map<std::string, std::size_t>& tally) {
  std::vector<std::string> order;
  for (results::RunStatus s : results::kAllRunStatuses) order.emplace_back(results::to_string(s));
  order.emplace_back(kNew);
  std::string out;
  for (const auto& name : order) {
    const auto it = tally.find(name);
    if (it != tally.end()) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", name, it->second);
  }
  return out;
}

std::string plan_text(const sweeps::Sweep& sweep, const std::string& results_path) {
  const bool with_status = !results_path.empty();
  const bool exists = with_status && std::filesystem::exists(results_path);
  const auto in_file = exists ? statuses_in(results_path) : std::unordered_map<std::string, std::string>{};

  std::string out = fmt::format("sweep: {}{}\n", sweep.path,
                                sweep.overrides.empty() ? "" : fmt::format(" ({})", fmt::join(sweep.overrides, " ")));
  out += fmt::format("combinations: {}, excluded: {}, duplicates collapsed: {}, runs: {}\n", sweep.combinations,
                     sweep.excluded, sweep.duplicates, sweep.runs.size());
  if (with_status && !exists) out += fmt::format("{} does not exist yet: every run is new\n", results_path);

  std::vector<std::vector<std::string>> rows;
  rows.reserve(sweep.runs.size() + 1);
  std::vector<std::string> head{"index", "hash"};
  head.insert(head.end(), sweep.axes.begin(), sweep.axes.end());
  if (with_status) head.emplace_back("status");
  rows.push_back(std::move(head));

  std::map<std::string, std::size_t> tally;
  std::size_t in_sweep = 0;
  for (std::size_t i = 0; i < sweep.runs.size(); ++i) {
    const sweeps::SweepRun& run = sweep.runs[i];
    std::vector<std::string> row{std::to_string(i), run.hash};
    // run.axes lists the axes that apply, in axis order; the others show "-".
    auto applied = run.axes.begin();
    for (const auto& axis : sweep.axes) {
      if (applied != run.axes.end() && applied->first == axis) {
        row.push_back((applied++)->second);
      } else {
        row.emplace_back("-");
      }
    }
    if (with_status) {
      const auto found = in_file.find(run.hash);
      in_sweep += found != in_file.end();
      row.push_back(found != in_file.end() ? found->second : kNew);
      ++tally[row.back()];
    }
    rows.push_back(std::move(row));
  }
  out += format_columns(rows);

  if (with_status) {
    out += fmt::format("status: {}\n", tally.empty() ? "no runs" : tally_text(tally));
    if (in_file.size() > in_sweep) {
      out += fmt::format("{} also holds runs not in this sweep: {}\n", results_path, in_file.size() - in_sweep);
    }
  }
  return out;
}

}  // namespace

void add_plan_command(CLI::App& app) {
  auto* sub = app.add_subcommand("plan", "Show the runs a sweep expands to (and their status in a results file); runs nothing");
  struct Options {
    std::string sweep;
    std::vector<std::string> overrides;
    std::string out;
  };
  auto o = std::make_shared<Options>();
  sub->add_option("SWEEP", o->sweep, "The sweep file (YAML: base, grid, zip, exclude)")->required();
  sub->add_option("overrides", o->overrides, "key=value overrides of the sweep's base (dotted keys for data.*)");
  sub->add_option("--out", o->out, "The study's results file: show each run's status in it (new when absent)");
  set_command_body(*sub, [o] {
    const std::string text = plan_text(sweeps::load_sweep_file(o->sweep, o->overrides), o->out);
    std::fwrite(text.data(), 1, text.size(), stdout);
  });
}

}  // namespace statetune::orchestrator
