// statetune bench tune: seconds per tuning step (forward + backward + Adam, plus DBP's R update)
// of each method on a random model (default: the 0.1B shape), and each method's peak memory.
// Peak RSS is process-wide and never goes down, so each method runs in its own child process:
// the parent re-executes this binary (posix_spawn of /proc/self/exe, never a bare fork: LibTorch
// runs OpenMP threads) with the internal --only METHOD:M, and reads back one JSON line. The
// ratios to standard come from the same invocation.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/workers/communicator.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/state_tuner.h"

extern char** environ;

namespace statetune::orchestrator {

namespace {

struct BenchTuneOptions {
  std::string shape = "0.1b";
  bool small = false;
  int64_t seq_len = 512;
  int64_t batch = 4;
  int steps = 2;
  std::vector<std::string> methods{"standard", "kernel:128", "kernel:256", "dbp:128", "dbp:256"};
  int threads = 1;
  uint64_t seed = 1;
  std::string only;  // internal: run this one method here and print one JSON line
  PlacementOptions placement;
};

constexpr int kWarmupSteps = 1;

double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

workers::ModelConfig shape_config(const std::string& shape) {
  workers::ModelConfig c;
  if (shape == "0.1b") {
    c.n_layer = 12;
    c.n_embd = 768;
    c.head_size = 64;
    c.vocab_size = 65536;
    c.rank_w = 64;
    c.rank_a = 64;
    c.rank_v = 32;
    c.rank_g = 128;
  } else if (shape == "1.5b") {  // RWKV-7 World 1.5B: LoRA ranks 96/96/64/256 at C=2048
    c.n_layer = 24;
    c.n_embd = 2048;
    c.head_size = 64;
    c.vocab_size = 65536;
    c.rank_w = 96;
    c.rank_a = 96;
    c.rank_v = 64;
    c.rank_g = 256;
  } else if (shape == "small") {
    c.n_layer = 2;
    c.n_embd = 64;
    c.head_size = 16;
    c.vocab_size = 300;
    c.rank_w = 32;
    c.rank_a = 32;
    c.rank_v = 32;
    c.rank_g = 32;
  } else {
    fail("bench tune: unknown --shape '{}' (0.1b, 1.5b or small)", shape);
  }
  c.n_head = c.n_embd / c.head_size;
  return c;
}

struct MethodSpec {
  workers::TuneMethod method = workers::TuneMethod::kStandard;
  int64_t M = 0;  // 0 for standard
  std::string text() const {
    return method == workers::TuneMethod::kStandard ? "standard"
                                                    : fmt::format("{}:{}", workers::tune_method_name(method), M);
  }
};

// "standard", "kernel:128", "dbp:256"; "kernel" alone means M = 128.
MethodSpec parse_method_spec(const std::string& text) {
  const size_t colon = text.find(':');
  MethodSpec s;
  s.method = workers::parse_tune_method(text.substr(0, colon));
  if (s.method == workers::TuneMethod::kStandard) {
    ST_CHECK(colon == std::string::npos, "bench tune: '{}': standard takes no M", text);
    return s;
  }
  s.M = 128;
  if (colon != std::string::npos) {
    const std::string m = text.substr(colon + 1);
    char* end = nullptr;
    const long long v = std::strtoll(m.c_str(), &end, 10);
    ST_CHECK(!m.empty() && *end == '\0' && v > 0, "bench tune: '{}': M must be a positive integer", text);
    s.M = v;
  }
  return s;
}

// The benchmark's data: B rows of T + 1 seeded random tokens (so the model reads exactly T
// positions), each starting with token 0, every position a target.
std::vector<workers::TuneExample> random_examples(int64_t rows, int64_t T, int64_t vocab, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> token(1, vocab - 1);
  std::vector<workers::TuneExample> out(static_cast<size_t>(rows));
  for (auto& e : out) {
    e.tokens.resize(static_cast<size_t>(T + 1));
    e.tokens[0] = 0;
    for (size_t i = 1; i < e.tokens.size(); ++i) e.tokens[i] = token(gen);
    e.is_target.assign(e.tokens.size(), 1);
  }
  return out;
}

// Child: one method, one JSON line on stdout.
void run_one_method(const BenchTuneOptions& o, const std::string& shape) {
  apply_threads(o.threads);
  const MethodSpec spec = parse_method_spec(o.only);
  const workers::ModelConfig c = shape_config(shape);
  const Placement where = o.placement.resolve();
  const workers::Rwkv7Model model(workers::init_random_model(c, 1), "random model", where.weights_dtype, where.device);
  const std::int64_t rss_model = current_rss_bytes();
  where.synchronize();
  where.reset_peak_memory();  // from here: the tuning's own memory, the weights included

  const int64_t B = o.batch, T = o.seq_len;
  workers::TuneData data;
  data.train = random_examples(B, T, c.vocab_size, o.seed);
  // Calibration reads the batch's rows; a shape too short for M samples per head (a quick
  // check with a small T) gets more rows of the same seeded stream.
  const int64_t calib_rows = std::max<int64_t>(B, (spec.M + T - 1) / T);
  for (const auto& e : random_examples(calib_rows, T, c.vocab_size, o.seed)) data.calibration_prompts.push_back(e.tokens);

  workers::TuneOptions to;
  to.method = spec.method;
  if (spec.M > 0) to.kernel.M = spec.M;
  to.trainer.steps = kWarmupSteps + o.steps;
  to.batch = B;
  to.seed = o.seed;

  workers::LocalCommunicator comm;
  Timer calibration_timer;
  workers::StateTuner tuner(model, to, data, comm);
  const double calibration_s = calibration_timer.seconds();
  int64_t tuned_floats = 0;
  for (const at::Tensor& p : tuner.state().parameters()) tuned_floats += p.numel();

  std::vector<double> stamps;  // seconds since run() began, at the end of each step
  Timer run_timer;
  // A step ends with its one host read, so these stamps follow the device's work (its last
  // kernels, Adam's, overlap the next step's start; the differences are whole steps).
  const workers::TrainResult result = tuner.run(false, [&](const workers::StepMetrics&) {
    stamps.push_back(run_timer.seconds());
  });
  where.synchronize();
  ST_CHECK(result.status == workers::TrainStatus::kDone, "bench tune: {} did not finish: {}", spec.text(),
           result.message);
  ST_CHECK(static_cast<int>(stamps.size()) == kWarmupSteps + o.steps, "bench tune: expected {} steps, saw {}",
           kWarmupSteps + o.steps, stamps.size());
  std::vector<double> step_s;
  for (size_t i = kWarmupSteps; i < stamps.size(); ++i) step_s.push_back(stamps[i] - stamps[i - 1]);

  nlohmann::json j;
  j["method"] = workers::tune_method_name(spec.method);
  j["M"] = spec.M;
  j["calibration_s"] = calibration_s;
  j["warmup_s"] = stamps[kWarmupSteps - 1];
  j["step_s"] = step_s;
  j["peak_rss_bytes"] = peak_rss_bytes();
  j["model_rss_bytes"] = rss_model;
  j["peak_device_mib"] = where.peak_memory_mib();
  j["weights_mib"] = mib(static_cast<double>(model.weight_bytes()));
  j["placement"] = where.describe();
  j["tuned_floats"] = tuned_floats;
  j["floats_per_head"] = c.head_size * c.head_size + spec.M * spec.M;
  j["final_loss"] = result.history.empty() ? 0.0 : result.history.back().loss;
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

// Parent: runs `exe bench tune --only SPEC ...` and returns the JSON line it printed.
nlohmann::json run_child(const std::string& exe, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  ST_CHECK(pipe2(fds, O_CLOEXEC) == 0, "bench tune: pipe: {}", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // stderr stays the parent's
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    fail("bench tune: cannot start {}: {}", exe, std::strerror(rc));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::string what = args.size() > 3 ? args[3] : std::string("child");
  ST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bench tune: the run of {} failed (status {}): {}", what,
           status, out);
  // The last line that is a JSON object.
  std::vector<std::string> lines;
  for (size_t from = 0; from < out.size();) {
    const size_t nl = std::min(out.find('\n', from), out.size());
    lines.push_back(out.substr(from, nl - from));
    from = nl + 1;
  }
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    if (!it->empty() && (*it)[0] == '{') return nlohmann::json::parse(*it);
  }
  fail("bench tune: the run of {} printed no result: {}", what, out);
}

std::string self_exe() {
  std::vector<char> buf(4096);
  const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  ST_CHECK(n > 0, "bench tune: cannot read /proc/self/exe: {}", std::strerror(errno));
  return std::string(buf.data(), static_cast<size_t>(n));
}

void run_bench_tune(const BenchTuneOptions& o) {
  const std::string shape = o.small ? "small" : o.shape;
  const workers::ModelConfig c = shape_config(shape);
  ST_CHECK(o.seq_len > 0 && o.batch > 0 && o.steps > 0, "bench tune: --seq-len, --batch and --steps must be positive");
  if (!o.only.empty()) return run_one_method(o, shape);

  std::vector<MethodSpec> specs;
  for (const auto& m : o.methods) specs.push_back(parse_method_spec(m));
  ST_CHECK(!specs.empty(), "bench tune: --methods is empty");
  // Standard first: the other rows' ratios refer to it.
  std::stable_partition(specs.begin(), specs.end(),
                        [](const MethodSpec& s) { return s.method == workers::TuneMethod::kStandard; });

  std::printf("bench tune: random model L=%lld C=%lld N=%lld H=%lld V=%lld (%s shape), T=%lld, batch=%lld, "
              "threads=%d, --device %s --weights-dtype %s; %d timed step(s) after %d warm-up, one child process per "
              "method\n",
              static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
              static_cast<long long>(c.head_size), static_cast<long long>(c.n_head),
              static_cast<long long>(c.vocab_size), shape.c_str(), static_cast<long long>(o.seq_len),
              static_cast<long long>(o.batch), o.threads, o.placement.device.c_str(), o.placement.weights_dtype.c_str(),
              o.steps, kWarmupSteps);
  std::printf("%-9s %5s %9s %10s %10s %8s %10s %10s %10s %12s %10s %12s\n", "method", "M", "calib_s", "step_s",
              "min_s", "ratio", "tokens/s", "peak_MiB", "+model_MiB", "tuned_floats", "floats/hd", "gpu_peak_MiB");
  std::fflush(stdout);

  const std::string exe = self_exe();
  double standard_s = std::numeric_limits<double>::quiet_NaN();
  struct Row {
    std::string label;
    double step_s, peak_mib;
  };
  std::vector<Row> rows;
  for (const MethodSpec& s : specs) {
    const nlohmann::json j =
        run_child(exe, {"bench", "tune", "--only", s.text(), "--shape", shape, "--seq-len", std::to_string(o.seq_len),
                        "--batch", std::to_string(o.batch), "--steps", std::to_string(o.steps), "--threads",
                        std::to_string(o.threads), "--seed", std::to_string(o.seed), "--device", o.placement.device,
                        "--weights-dtype", o.placement.weights_dtype});
    if (rows.empty()) std::printf("(%s)\n", j.at("placement").get<std::string>().c_str());
    const std::vector<double> steps = j.at("step_s").get<std::vector<double>>();
    double sum = 0, min = std::numeric_limits<double>::infinity();
    for (double x : steps) sum += x, min = std::min(min, x);
    const double mean = sum / static_cast<double>(steps.size());
    if (s.method == workers::TuneMethod::kStandard && std::isnan(standard_s)) standard_s = mean;
    const double peak = mib(j.at("peak_rss_bytes").get<double>());
    const double over_model = peak - mib(j.at("model_rss_bytes").get<double>());
    const std::string ratio = std::isnan(standard_s) ? std::string("-") : fmt::format("{:.3f}x", mean / standard_s);
    const std::string M = s.M > 0 ? std::to_string(s.M) : std::string("-");
    std::printf("%-9s %5s %9.2f %10.3f %10.3f %8s %10.1f %10.0f %10.0f %12lld %10lld %12.0f\n",
                workers::tune_method_name(s.method), M.c_str(), j.at("calibration_s").get<double>(), mean, min,
                ratio.c_str(), static_cast<double>(o.batch * o.seq_len) / mean, peak, over_model,
                j.at("tuned_floats").get<long long>(), j.at("floats_per_head").get<long long>(),
                j.at("peak_device_mib").get<double>());
    std::fflush(stdout);
    rows.push_back({s.text(), mean, peak});
  }
  if (!std::isnan(standard_s)) {
    const Row& standard = rows.front();
    for (size_t i = 1; i < rows.size(); ++i) {
      std::printf("overhead %-10s vs standard: step time %+.1f%%, peak RSS %+.0f MiB\n", rows[i].label.c_str(),
                  100.0 * (rows[i].step_s / standard_s - 1.0), rows[i].peak_mib - standard.peak_mib);
    }
  }
  std::printf("step_s: one optimiser step (forward+backward+Adam; dbp also its R update) on batch x T target tokens, "
              "mean over the timed steps; min_s: the fastest; calib_s: the kernel read-out's calibration pass, not in "
              "step_s; peak_MiB: peak RSS of the method's own process; +model_MiB: above its RSS right after building "
              "the model; floats/hd: tuned floats per head and layer (N^2 + M^2); gpu_peak_MiB: the GPU's peak memory "
              "held by tensors from building the state to the last step, the weights included (0 on the CPU)\n");
}

}  // namespace

void add_bench_tune(CLI::App& bench) {
  auto* sub = bench.add_subcommand(
      "tune", "Seconds per tuning step and peak memory of standard, kernel and dbp on a random model (0.1B shape)");
  auto o = std::make_shared<BenchTuneOptions>();
  sub->add_option("--shape", o->shape,
                  "Model shape: 0.1b (L=12 C=768 V=65536), 1.5b (L=24 C=2048 V=65536) or small (a quick check)")
      ->check(CLI::IsMember({"0.1b", "1.5b", "small"}))
      ->capture_default_str();
  sub->add_flag("--small", o->small, "Same as --shape small");
  sub->add_option("--seq-len", o->seq_len, "Tokens per sequence T")->capture_default_str()->check(positive_count());
  sub->add_option("--batch", o->batch, "Sequences per step B")->capture_default_str()->check(positive_count());
  sub->add_option("--steps", o->steps, "Timed steps per method (after one warm-up step)")
      ->capture_default_str()
      ->check(positive_count());
  sub->add_option("--methods", o->methods, "Methods to run: standard, kernel:M, dbp:M")
      ->delimiter(',')
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the random tokens")->capture_default_str();
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  // Internal: how the parent runs one method in a child process (prints one JSON line).
  sub->add_option("--only", o->only, "Internal: run one method here and print a JSON line")->group("");
  set_command_body(*sub, [o] { run_bench_tune(*o); });
}

}  // namespace statetune::orchestrator
