#pragma once
// RunSpec: everything that describes one tuning run, as plain typed fields. It is what
// `statetune tune CONFIG.yaml` and each expanded sweep run produce; the orchestrator maps it
// to worker options (workers never see YAML). Field names are the YAML keys, which are the
// paper's names (M, gamma, dbp_lambda). The defaults written here are the schema's defaults
// (run_schema.h reads them from a default-constructed RunSpec), so they live in one place.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace statetune::sweeps {

enum class Method { kStandard, kKernel, kDbp, kTts };
enum class TtsMode { kDistill, kReinforce };
enum class Init { kZeros, kPrompt };
enum class Shift { kFixed, kTune };
enum class Support { kKmeans, kRandom };
enum class Schedule { kCosine, kConstant };
enum class Target { kLabels, kGuide };
enum class Benchmark { kArcChallenge, kMmlu, kWinogrande, kGsm8k, kJsonl };
enum class OnError { kError, kSkip };
enum class Device { kAuto, kCpu, kCuda };
enum class WeightsDtype { kAuto, kFp32, kBf16 };

// EnumNames<E>::names[i] is the YAML spelling of the enumerator with value i.
template <typename E> struct EnumNames;
template <> struct EnumNames<Method> { static constexpr std::array<std::string_view, 4> names{"standard", "kernel", "dbp", "tts"}; };
template <> struct EnumNames<TtsMode> { static constexpr std::array<std::string_view, 2> names{"distill", "reinforce"}; };
template <> struct EnumNames<Init> { static constexpr std::array<std::string_view, 2> names{"zeros", "prompt"}; };
template <> struct EnumNames<Shift> { static constexpr std::array<std::string_view, 2> names{"fixed", "tune"}; };
template <> struct EnumNames<Support> { static constexpr std::array<std::string_view, 2> names{"kmeans", "random"}; };
template <> struct EnumNames<Schedule> { static constexpr std::array<std::string_view, 2> names{"cosine", "constant"}; };
template <> struct EnumNames<Target> { static constexpr std::array<std::string_view, 2> names{"labels", "guide"}; };
template <> struct EnumNames<Benchmark> {
  static constexpr std::array<std::string_view, 5> names{"arc_challenge", "mmlu", "winogrande", "gsm8k", "jsonl"};
};
template <> struct EnumNames<OnError> { static constexpr std::array<std::string_view, 2> names{"error", "skip"}; };
template <> struct EnumNames<Device> { static constexpr std::array<std::string_view, 3> names{"auto", "cpu", "cuda"}; };
template <> struct EnumNames<WeightsDtype> {
  static constexpr std::array<std::string_view, 3> names{"auto", "fp32", "bf16"};
};

template <typename E>
std::string_view to_string(E value) {
  return EnumNames<E>::names[static_cast<std::size_t>(value)];
}

// Paths are absolute (see config_reader.h). Counts are int64 as in the workers' options.
struct DataSpec {
  Benchmark benchmark = Benchmark::kJsonl;  // required in YAML; the value here is never used
  std::string train;                        // required for jsonl; "" = the fetched split (named benchmarks)
  std::string eval;                         // "" = no evaluation set (or, with train "", the fetched one)
  std::string fewshot;                      // the few-shot pool; "" = beside the split, or the fetched one
  std::int64_t num_fewshot = 0;
  std::int64_t fewshot_seed = 1234;  // lm-evaluation-harness's fewshot_random_seed
  std::int64_t train_limit = 0;  // 0 = all examples
  std::int64_t eval_limit = 0;   // 0 = all examples
  OnError on_error = OnError::kError;
};

struct RunSpec {
  // what to tune and where the result goes
  std::string model;   // required: the frozen RWKV-7 checkpoint
  std::string vocab;   // required: the tokenizer vocabulary
  std::string output;  // required: the tuned state file
  std::string name;    // a label; not part of the run's identity

  // where the run computes (auto: a GPU when LibTorch sees one; not part of the run's
  // identity) and the frozen weights' precision (auto: bf16 on CUDA, fp32 on the CPU)
  Device device = Device::kAuto;
  WeightsDtype weights_dtype = WeightsDtype::kAuto;

  Method method = Method::kStandard;
  Init init = Init::kZeros;
  std::string init_prompt;  // required when init = prompt
  Shift shift = Shift::kFixed;

  // kernel and dbp
  std::int64_t M = 128;
  Support support = Support::kKmeans;
  std::int64_t kmeans_iters = 20;
  std::int64_t calibration_examples = 64;
  std::optional<double> gamma;  // absolute; unset = median heuristic times gamma_scale
  double gamma_scale = 1.0;
  bool linear = true;
  double lr_kernel = 0.003;

  // dbp only
  double dbp_lambda = 1.0;
  double kappa = 1e-3;
  double dbp_max_rel_step = 0.1;

  // optimisation
  double lr = 1.0;
  Schedule schedule = Schedule::kCosine;
  std::int64_t warmup_steps = 0;
  double final_lr_ratio = 0.01;
  std::int64_t steps = 100;
  std::int64_t batch = 4;
  std::int64_t accumulation = 1;
  double max_grad_norm = 0.0;  // 0 = no clipping
  std::int64_t seed = 0;
  std::int64_t max_tokens = 1024;  // examples are truncated to this many tokens
  std::int64_t threads = 0;        // 0 = the cores the process may use
  std::int64_t log_every = 1;
  std::int64_t checkpoint_every = 0;  // 0 = no checkpoints
  std::string checkpoint;             // checkpoint / resume file

  // what the loss matches
  Target target = Target::kLabels;
  std::string guide;         // a guide model; "" with target = guide: the model itself reading guide_prefix
  std::string guide_prefix;  // text the guide reads before each example
  double alpha = 0.0;        // weight of the gold-label CE added to the guide's KL
  // > 0 (a guide model, or the model itself after guide_prefix; no guide_traces): the guide
  // writes this many tokens at most (greedy, to end-of-text) after each training question and
  // the KL is over its text instead of the example's; 0: over the training examples' text.
  std::int64_t guide_generate_tokens = 0;

  // tts: test-time scaling per evaluation question (METHOD.md §4); nothing is trained up front
  TtsMode tts_mode = TtsMode::kDistill;
  std::string tts_state;                 // the tuned state each question starts from; "" = zeros
  std::int64_t tts_steps = 4;            // Adam steps per question
  double tts_lr = 0.01;
  std::int64_t tts_samples = 4;          // reinforce: continuations sampled per step
  std::int64_t tts_sample_tokens = 16;   // reinforce: tokens per continuation
  double tts_temperature = 1.0;          // reinforce: the student's sampling temperature
  std::int64_t tts_guide_tokens = 128;   // distill: tokens of the guide's chain of thought (RWKV guide)
  std::string guide_traces;              // a guide-trace file (JSONL) instead of running the guide

  DataSpec data;
};

}  // namespace statetune::sweeps
