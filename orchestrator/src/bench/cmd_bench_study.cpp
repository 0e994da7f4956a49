// statetune bench study: the results store at scale. For each study size it plays the writer's
// part of a sweep (declare every run, then per run: begin, steps, finish with items and a
// tuned state of several MB) in a child process, and prints the per-run cost, how flat it
// stays (the first against the last tenth of the runs), rank 0's peak memory and the bytes on
// disk. Then it builds a study of --catalog-runs small runs from a generated sweep and times
// `statetune plan`, `status` and `report` on it, as a user runs them (a process each).
#include <CLI/CLI.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/hash.h"
#include "statetune/common/timer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/study_identity.h"
#include "statetune/results/study_writer.h"
#include "statetune/sweeps/sweep.h"
#include "study/sweep_plan.h"

namespace statetune::orchestrator {
namespace {

namespace fs = std::filesystem;

struct BenchStudyOptions {
  std::vector<std::int64_t> runs{20, 1000};
  double state_mb = 4;
  std::int64_t steps = 20;
  std::int64_t items = 200;
  std::int64_t catalog_runs = 10000;
  std::string dir;
  bool keep = false;
};

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

std::uint64_t bytes_under(const fs::path& path) {
  std::uint64_t total = 0;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return fs::file_size(path, ec);
  for (const auto& entry : fs::recursive_directory_iterator(path, ec))
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  return total;
}

// A run as a sweep describes one: a kernel run with two axes and ~40 config keys.
results::RunDescription bench_run(std::int64_t i) {
  results::RunDescription d;
  d.hash = hex16(fnv1a64(fmt::format("bench study run {}", i)));
  d.method = "kernel";
  d.axes = {{"M", std::to_string(16 << (i % 4))}, {"seed", std::to_string(i)}};
  for (int k = 0; k < 40; ++k) d.config[fmt::format("option_{:02d}", k)] = fmt::format("value {} of run {}", k, i);
  d.config_yaml = "method: kernel\n";
  for (const auto& [key, value] : d.config) d.config_yaml += key + ": " + value + "\n";
  d.canonical_text = d.config_yaml;
  return d;
}

// Tuned-state-like values (noise around zero, as a tuned S0 is): the compression it gets is
// what real states get.
std::vector<results::StateTensor> bench_state(double mb) {
  const std::int64_t layers = 24;
  const auto per_layer = static_cast<std::int64_t>(mb * 1024 * 1024 / 4 / static_cast<double>(layers));
  std::mt19937 rng(7);
  std::normal_distribution<float> noise(0.f, 0.05f);
  std::vector<results::StateTensor> state;
  for (std::int64_t l = 0; l < layers; ++l) {
    results::StateTensor t;
    t.name = fmt::format("blocks.{}.att.time_state", l);
    t.shape = {per_layer};
    t.values.resize(static_cast<std::size_t>(per_layer));
    for (float& v : t.values) v = noise(rng);
    state.push_back(std::move(t));
  }
  return state;
}

results::RunOutcome bench_outcome(std::int64_t items, std::vector<results::StateTensor> state) {
  results::RunOutcome outcome;
  outcome.summary = {{"acc", 0.25, 0.5}, {"acc_norm", 0.375, 0.625}};
  for (const char* phase : {"before", "after"}) {
    for (std::int64_t i = 0; i < items; ++i) {
      outcome.items.push_back({phase, fmt::format("item-{}", i), "1", "2", false, {-1.5, -0.5, -2.5, -3.0}});
    }
  }
  outcome.tuned_state = std::move(state);
  return outcome;
}

// The writer's side of a sweep of n runs. Returns seconds per run, in order.
std::vector<double> play_study(const std::string& path, std::int64_t n, const BenchStudyOptions& o) {
  const std::vector<results::StateTensor> state = bench_state(o.state_mb);
  auto writer = results::StudyWriter::open(path, {"bench", "bench study", "bench"});
  for (std::int64_t i = 0; i < n; ++i) writer.declare_run(bench_run(i));
  std::vector<double> seconds;
  for (std::int64_t i = 0; i < n; ++i) {
    Timer run;
    const results::RunDescription d = bench_run(i);
    writer.begin_run(d);
    for (std::int64_t s = 0; s < o.steps; ++s) writer.append_step(d.hash, {s, 1.0 / double(s + 1), 0.01, 0.5, NAN, 1000});
    writer.finish_run(d.hash, bench_outcome(o.items, state));
    seconds.push_back(run.seconds());
  }
  return seconds;
}

struct StudyFigures {
  std::int64_t runs = 0;
  double per_run_s = 0, first_tenth_s = 0, last_tenth_s = 0, peak_mib = 0, disk_mib = 0;
};

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
  double sum = 0;
  for (std::size_t i = from; i < to; ++i) sum += v[i];
  return to > from ? sum / static_cast<double>(to - from) : 0;
}

// In a child process, so that each study's peak memory is its own (wait4's ru_maxrss).
StudyFigures measure_study(const std::string& dir, std::int64_t n, const BenchStudyOptions& o) {
  const std::string path = fmt::format("{}/study_{}.h5", dir, n);
  const std::string figures = path + ".figures.json";
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child < 0) fail("bench study: fork failed");
  if (child == 0) {
    int code = 0;
    try {
      const std::vector<double> s = play_study(path, n, o);
      const std::size_t tenth = std::max<std::size_t>(1, s.size() / 10);
      const nlohmann::json j = {{"per_run", mean(s, 0, s.size())},
                                {"first", mean(s, 0, tenth)},
                                {"last", mean(s, s.size() - tenth, s.size())}};
      write_file_atomic(figures, j.dump());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "statetune: error: %s\n", e.what());
      code = 1;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  int status = 0;
  rusage usage{};
  ::wait4(child, &status, 0, &usage);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("bench study: the {}-run study failed", n);
  const auto j = nlohmann::json::parse(read_file_bytes(figures));
  StudyFigures f;
  f.runs = n;
  f.per_run_s = j.at("per_run").get<double>();
  f.first_tenth_s = j.at("first").get<double>();
  f.last_tenth_s = j.at("last").get<double>();
  f.peak_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  f.disk_mib = mib(static_cast<double>(bytes_under(path) + bytes_under(path + ".runs")));
  return f;
}

// A sweep of `runs` runs (lr x seed), its study built with every run done, for plan/status/report.
std::string build_catalog_study(const std::string& dir, std::int64_t runs) {
  const std::int64_t lrs = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::sqrt(double(runs))));
  const std::int64_t seeds = (runs + lrs - 1) / lrs;
  std::string lr_list, seed_list;
  for (std::int64_t i = 0; i < lrs; ++i) lr_list += fmt::format("{}{}", i ? ", " : "", 0.001 * double(i + 1));
  for (std::int64_t i = 0; i < seeds; ++i) seed_list += fmt::format("{}{}", i ? ", " : "", i);
  const std::string sweep_path = dir + "/catalog_sweep.yaml";
  write_file_atomic(sweep_path, fmt::format("base:\n  model: m.pth\n  vocab: v.txt\n"
                                            "  data: {{benchmark: jsonl, train: t.jsonl, eval: e.jsonl}}\n"
                                            "  steps: 20\ngrid:\n  lr: [{}]\n  seed: [{}]\n",
                                            lr_list, seed_list));
  const sweeps::Sweep sweep = sweeps::load_sweep_file(sweep_path, {});
  results::WriterOptions options;
  options.durable = false;  // building the fixture; the reads are what is timed
  auto writer = results::StudyWriter::open(dir + "/catalog.h5", study_identity(sweep_path, sweep, {}), options);
  for (const auto& run : sweep.runs) writer.declare_run(describe_run(run));
  results::RunOutcome outcome;
  outcome.summary = {{"eval_loss", 2.5, 2.25}};
  for (const auto& run : sweep.runs) {
    writer.begin_run(describe_run(run));
    writer.append_step(run.hash, {0, 2.5, 0.01, 0.5, NAN, 1000});
    writer.finish_run(run.hash, outcome);
  }
  return sweep_path;
}

double time_command(const std::string& command) {
  Timer t;
  const int rc = std::system((command + " > /dev/null").c_str());
  if (rc != 0) fail("bench study: `{}` failed (exit {})", command, rc);
  return t.seconds();
}

void run_bench_study(const BenchStudyOptions& o) {
  const std::string dir = o.dir.empty() ? fmt::format("/tmp/statetune_bench_study_{}", ::getpid()) : o.dir;
  fs::create_directories(dir);
  std::printf("bench study: %s; each run: %lld steps, %lld items x 2 phases, %.1f MB of tuned state\n", dir.c_str(),
              static_cast<long long>(o.steps), static_cast<long long>(o.items), o.state_mb);
  std::printf("%8s  %11s  %14s  %13s  %12s  %10s\n", "runs", "s per run", "first 10% s", "last 10% s",
              "peak MiB", "disk MiB");
  std::vector<StudyFigures> all;
  for (const std::int64_t n : o.runs) {
    all.push_back(measure_study(dir, n, o));
    const StudyFigures& f = all.back();
    std::printf("%8lld  %11.4f  %14.4f  %13.4f  %12.1f  %10.1f\n", static_cast<long long>(n), f.per_run_s,
                f.first_tenth_s, f.last_tenth_s, f.peak_mib, f.disk_mib);
    std::fflush(stdout);
  }
  if (all.size() >= 2) {
    const StudyFigures &a = all.front(), &b = all.back();
    std::printf("%lld vs %lld runs: per-run cost x%.3f (target <= 1.25), peak memory x%.3f (target <= 1.5); "
                "state on disk %.2f MiB per run for %.2f MiB of floats (x%.2f)\n",
                static_cast<long long>(b.runs), static_cast<long long>(a.runs), b.per_run_s / a.per_run_s,
                b.peak_mib / a.peak_mib, b.disk_mib / double(b.runs), o.state_mb, b.disk_mib / double(b.runs) / o.state_mb);
  }
  if (o.catalog_runs > 0) {
    Timer build;
    const std::string sweep = build_catalog_study(dir, o.catalog_runs);
    const std::string study = dir + "/catalog.h5";
    std::printf("a %lld-run study (built in %.1f s without fsync): ", static_cast<long long>(o.catalog_runs),
                build.seconds());
    std::fflush(stdout);
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    const double plan = time_command(fmt::format("'{}' plan '{}' --out '{}'", self, sweep, study));
    const double status = time_command(fmt::format("'{}' status '{}'", self, study));
    const double report = time_command(fmt::format("'{}' report '{}'", self, study));
    std::printf("plan %.2f s, status %.2f s, report %.2f s (target <= 2 s each, a process each)\n", plan, status,
                report);
  }
  if (!o.keep) fs::remove_all(dir);
}

}  // namespace

void add_bench_study(CLI::App& bench) {
  auto* sub = bench.add_subcommand(
      "study", "The results store at scale: per-run cost, peak memory and size of a small and a large study; plan, "
               "status and report of a very large one");
  auto o = std::make_shared<BenchStudyOptions>();
  sub->add_option("--runs", o->runs, "Study sizes to play, smallest first")->delimiter(',')->capture_default_str();
  sub->add_option("--state-mb", o->state_mb, "Tuned state per run, MB")->capture_default_str();
  sub->add_option("--steps", o->steps, "Steps per run")->capture_default_str();
  sub->add_option("--items", o->items, "Eval items per phase per run")->capture_default_str();
  sub->add_option("--catalog-runs", o->catalog_runs, "Runs of the study plan/status/report are timed on (0: skip)")
      ->capture_default_str();
  sub->add_option("--dir", o->dir, "Where the studies are written (default: a folder under /tmp)");
  sub->add_flag("--keep", o->keep, "Keep the studies afterwards");
  set_command_body(*sub, [o] { run_bench_study(*o); });
}

}  // namespace statetune::orchestrator
