#include "run_fields.h"

#include <algorithm>
#include <type_traits>

namespace statetune::sweeps {
namespace {

// ---- Value <-> member conversions -------------------------------------------------------

// The primary template serves enums, spelled as in EnumNames; the specialisations below
// serve the scalar types.
template <typename T>
struct Codec {
  static_assert(std::is_enum_v<T>, "a RunSpec member of a type with no Codec");
  static FieldType type() { return FieldType::kEnum; }
  static std::vector<std::string> choices() {
    return {EnumNames<T>::names.begin(), EnumNames<T>::names.end()};
  }
  static Value encode(T v) { return std::string(to_string(v)); }
  static T decode(const Value& v) {
    const auto& names = EnumNames<T>::names;
    const auto it = std::find(names.begin(), names.end(), std::get<std::string>(v));
    return static_cast<T>(it - names.begin());  // the parser admitted only these spellings
  }
};
template <>
struct Codec<std::string> {
  static FieldType type() { return FieldType::kString; }
  static std::vector<std::string> choices() { return {}; }
  static Value encode(const std::string& v) { return v; }
  static std::string decode(const Value& v) { return std::get<std::string>(v); }
};
template <>
struct Codec<std::int64_t> {
  static FieldType type() { return FieldType::kInt; }
  static std::vector<std::string> choices() { return {}; }
  static Value encode(std::int64_t v) { return v; }
  static std::int64_t decode(const Value& v) { return std::get<std::int64_t>(v); }
};
template <>
struct Codec<double> {
  static FieldType type() { return FieldType::kFloat; }
  static std::vector<std::string> choices() { return {}; }
  static Value encode(double v) { return v; }
  static double decode(const Value& v) { return std::get<double>(v); }
};
template <>
struct Codec<bool> {
  static FieldType type() { return FieldType::kBool; }
  static std::vector<std::string> choices() { return {}; }
  static Value encode(bool v) { return v; }
  static bool decode(const Value& v) { return std::get<bool>(v); }
};

template <typename T> struct OptionalOf { using type = T; static constexpr bool value = false; };
template <typename T> struct OptionalOf<std::optional<T>> { using type = T; static constexpr bool value = true; };

// Binds `spec` to the member that access(run) returns. Type, enum spellings and default
// come from the member; an std::optional member makes the key optional.
template <typename Member, typename Access>
RunField make_field(FieldSpec spec, Access access) {
  using Scalar = typename OptionalOf<Member>::type;
  constexpr bool kOptional = OptionalOf<Member>::value;
  if (spec.type != FieldType::kPath) spec.type = Codec<Scalar>::type();
  spec.choices = Codec<Scalar>::choices();
  if (kOptional) spec.presence = Presence::kOptional;
  const RunSpec defaults{};
  if (spec.presence == Presence::kDefault) {
    if constexpr (!kOptional) spec.default_value = Codec<Scalar>::encode(access(defaults));
  }
  RunField field;
  field.spec = std::move(spec);
  field.get = [access](const RunSpec& run) -> std::optional<Value> {
    const Member& member = access(run);
    if constexpr (kOptional) {
      if (!member) return std::nullopt;
      return Codec<Scalar>::encode(*member);
    } else {
      return Codec<Scalar>::encode(member);
    }
  };
  field.set = [access](RunSpec& run, const std::optional<Value>& value) {
    Member& member = access(run);
    if constexpr (kOptional) {
      member = value ? std::optional<Scalar>(Codec<Scalar>::decode(*value)) : std::nullopt;
    } else if (value) {
      member = Codec<Scalar>::decode(*value);
    }
  };
  return field;
}

template <typename T>
RunField bind(T RunSpec::*member, FieldSpec spec) {
  return make_field<T>(std::move(spec), [member](auto& run) -> auto& { return run.*member; });
}
template <typename T>
RunField bind(T DataSpec::*member, FieldSpec spec) {
  spec.key = "data." + spec.key;
  return make_field<T>(std::move(spec), [member](auto& run) -> auto& { return run.data.*member; });
}

// ---- when a key applies ----------------------------------------------------------------

bool is(const ConfigValues& values, const std::string& key, const char* name) {
  const Value* value = values.find(key);
  const auto* text = value ? std::get_if<std::string>(value) : nullptr;
  return text && *text == name;
}
// A text key set to something (keys with a default are always present, maybe empty).
bool given(const ConfigValues& values, const std::string& key) {
  const Value* value = values.find(key);
  const auto* text = value ? std::get_if<std::string>(value) : nullptr;
  return text && !text->empty();
}
bool positive(const ConfigValues& values, const std::string& key) {
  const Value* value = values.find(key);
  const auto* n = value ? std::get_if<std::int64_t>(value) : nullptr;
  return n && *n > 0;
}
bool kernel_like(const ConfigValues& v) { return is(v, "method", "kernel") || is(v, "method", "dbp"); }
bool dbp(const ConfigValues& v) { return is(v, "method", "dbp"); }

FieldSpec kernel_key(std::string key, std::string description) {
  return FieldSpec(std::move(key), std::move(description)).applies_when("method: kernel, dbp", kernel_like);
}
FieldSpec dbp_key(std::string key, std::string description) {
  return FieldSpec(std::move(key), std::move(description)).applies_when("method: dbp", dbp);
}
FieldSpec guide_key(std::string key, std::string description) {
  return FieldSpec(std::move(key), std::move(description))
      .applies_when("target: guide", [](const ConfigValues& v) { return is(v, "target", "guide"); });
}
bool tts(const ConfigValues& v) { return is(v, "method", "tts"); }
FieldSpec tts_key(std::string key, std::string description) {
  return FieldSpec(std::move(key), std::move(description)).applies_when("method: tts", tts);
}
FieldSpec reinforce_key(std::string key, std::string description) {
  return FieldSpec(std::move(key), std::move(description))
      .applies_when("method: tts, tts_mode: reinforce", [](const ConfigValues& v) {
        return tts(v) && is(v, "tts_mode", "reinforce");
      });
}
// The guide model and trace file serve observer tuning and test-time scaling alike.
FieldSpec guide_source_key(std::string key, std::string description) {
  return FieldSpec(std::move(key), std::move(description))
      .applies_when("target: guide or method: tts",
                    [](const ConfigValues& v) { return is(v, "target", "guide") || tts(v); });
}

std::vector<RunField> make_run_fields() {
  using F = FieldSpec;
  return {
      bind(&RunSpec::model, F("model", "the frozen RWKV-7 checkpoint (.pth or .safetensors) or a fetched model's name")
                                 .path_or_name()
                                 .required()),
      bind(&RunSpec::vocab, F("vocab", "the RWKV World tokenizer vocabulary, or rwkv-world-vocab (fetched)")
                                 .path_or_name()
                                 .required()),
      bind(&RunSpec::output, F("output", "where the tuned state file is written (tune: required; sweep: without it the state is stored in the study only)").path().not_in_hash()),
      bind(&RunSpec::name, F("name", "a label for the run").not_in_hash()),

      // Where a run computes is not what it computes: a study resumed on other hardware goes on.
      bind(&RunSpec::device, F("device", "where the run computes: auto (a GPU when LibTorch sees one), cpu or cuda")
                                 .not_in_hash()),
      // auto (the default) is left out of the run's identity, so runs from before the key keep their hash.
      bind(&RunSpec::weights_dtype,
           F("weights_dtype",
             "precision of the frozen weights: auto (bf16 on CUDA, fp32 on the CPU), fp32 or bf16; the state, the "
             "WKV recurrence, the loss and the log-softmax stay fp32")
               .applies_when("fp32 or bf16 (auto is left out of the run's identity)",
                             [](const ConfigValues& v) { return !is(v, "weights_dtype", "auto"); })),
      bind(&RunSpec::method, F("method", "the tuning method (METHOD.md sections 1-3)")),
      bind(&RunSpec::init, F("init", "the initial S0: zeros, or the state after reading init_prompt")),
      bind(&RunSpec::init_prompt, F("init_prompt", "the text read to initialise S0")
                                      .applies_when("init: prompt", [](const ConfigValues& v) { return is(v, "init", "prompt"); })),
      bind(&RunSpec::shift, F("shift", "also tune the token-shift states (tune) or not (fixed)")),

      bind(&RunSpec::M, kernel_key("M", "support vectors per layer and head").at_least(1)),
      bind(&RunSpec::support, kernel_key("support", "how support vectors are chosen")),
      bind(&RunSpec::kmeans_iters, kernel_key("kmeans_iters", "spherical k-means iterations").at_least(1)),
      bind(&RunSpec::calibration_examples, kernel_key("calibration_examples", "training prompts read to collect q").at_least(1)),
      bind(&RunSpec::gamma, kernel_key("gamma", "absolute Gaussian width; unset: median heuristic times gamma_scale").above(0)),
      bind(&RunSpec::gamma_scale,
           F("gamma_scale", "gamma relative to the median heuristic, when gamma is unset")
               .above(0)
               .applies_when("method: kernel, dbp; gamma unset",
                             [](const ConfigValues& v) { return kernel_like(v) && !v.has("gamma"); })),
      bind(&RunSpec::linear, kernel_key("linear", "keep the linear S0 term beside the kernel read-out")),
      bind(&RunSpec::lr_kernel, kernel_key("lr_kernel", "Adam learning rate of the kernel state").at_least(0)),

      bind(&RunSpec::dbp_lambda, dbp_key("dbp_lambda", "step of the decorrelation update of R").at_least(0)),
      bind(&RunSpec::kappa, dbp_key("kappa", "weight of the variance term in DBP's rule").above(0)),
      bind(&RunSpec::dbp_max_rel_step, dbp_key("dbp_max_rel_step", "clip of R's relative step").above(0)),

      bind(&RunSpec::lr, F("lr", "Adam learning rate of S0").at_least(0)),
      bind(&RunSpec::schedule, F("schedule", "learning-rate schedule after warmup")),
      bind(&RunSpec::warmup_steps, F("warmup_steps", "linear warmup steps").at_least(0)),
      bind(&RunSpec::final_lr_ratio,
           F("final_lr_ratio", "final lr / lr of the cosine schedule")
               .at_least(0)
               .at_most(1)
               .applies_when("schedule: cosine", [](const ConfigValues& v) { return is(v, "schedule", "cosine"); })),
      bind(&RunSpec::steps, F("steps", "optimiser steps").at_least(1)),
      bind(&RunSpec::batch, F("batch", "examples per micro-batch").at_least(1)),
      bind(&RunSpec::accumulation, F("accumulation", "micro-batches per optimiser step").at_least(1)),
      bind(&RunSpec::max_grad_norm, F("max_grad_norm", "clip gradients to this global norm; 0 = off").at_least(0)),
      bind(&RunSpec::seed, F("seed", "seed of every random choice of the run").at_least(0)),
      bind(&RunSpec::max_tokens, F("max_tokens", "examples are truncated to this many tokens").at_least(1)),
      bind(&RunSpec::threads, F("threads", "CPU threads; 0 = the cores the process may use").at_least(0).not_in_hash()),
      bind(&RunSpec::log_every, F("log_every", "log metrics every this many steps").at_least(1).not_in_hash()),
      // A resumed run equals an uninterrupted one, so checkpointing does not change results.
      bind(&RunSpec::checkpoint_every, F("checkpoint_every", "write a checkpoint every this many steps; 0 = off")
                                           .at_least(0)
                                           .not_in_hash()),
      bind(&RunSpec::checkpoint, F("checkpoint", "checkpoint file, resumed from when it exists").path().not_in_hash()),

      bind(&RunSpec::target, F("target", "what the loss matches: gold labels, or a guide's distribution")),
      bind(&RunSpec::guide, guide_source_key("guide", "the guide model (a file or a fetched name); empty: the model itself reading guide_prefix")
                                .path_or_name()),
      bind(&RunSpec::guide_traces,
           guide_source_key("guide_traces", "a guide-trace file (JSONL: id, text, optional logprobs) instead of a guide model")
               .path()),
      bind(&RunSpec::guide_prefix, guide_source_key("guide_prefix", "text the guide reads before each example")),

      bind(&RunSpec::tts_mode, tts_key("tts_mode", "distill on the guide's chain of thought, or reinforce with its rewards")),
      bind(&RunSpec::tts_state, tts_key("tts_state", "the tuned state each question starts from; empty: zeros").path()),
      bind(&RunSpec::tts_steps, tts_key("tts_steps", "Adam steps on each question's copy of the state").at_least(0)),
      bind(&RunSpec::tts_lr, tts_key("tts_lr", "Adam learning rate of the per-question adaptation").at_least(0)),
      bind(&RunSpec::tts_guide_tokens,
           FieldSpec("tts_guide_tokens", "tokens of chain of thought the guide model writes per question")
               .at_least(1)
               .applies_when("method: tts, tts_mode: distill, no guide_traces",
                             [](const ConfigValues& v) { return tts(v) && !is(v, "tts_mode", "reinforce") && !given(v, "guide_traces"); })),
      bind(&RunSpec::tts_samples, reinforce_key("tts_samples", "continuations sampled from the student per step").at_least(2)),
      bind(&RunSpec::tts_sample_tokens, reinforce_key("tts_sample_tokens", "tokens per sampled continuation").at_least(1)),
      bind(&RunSpec::tts_temperature, reinforce_key("tts_temperature", "the student's sampling temperature").above(0)),
      bind(&RunSpec::alpha, guide_key("alpha", "weight of the gold-label CE added to the guide KL").at_least(0)),
      // 0 (the default) is left out of the run's identity, so runs from before the key keep their hash.
      bind(&RunSpec::guide_generate_tokens,
           FieldSpec("guide_generate_tokens",
                     "tokens the guide model writes (greedy) after each training question, the KL then over its text; "
                     "0: over the training examples")
               .at_least(0)
               .applies_when("target: guide, no guide_traces, not method tts; > 0", [](const ConfigValues& v) {
                 return is(v, "target", "guide") && !tts(v) && !given(v, "guide_traces") &&
                        positive(v, "guide_generate_tokens");
               })),

      bind(&DataSpec::benchmark, F("benchmark", "the task and its file format").required()),
      // A named benchmark without paths is the split `statetune fetch` put in its cache, as
      // lm-evaluation-harness uses it (README, "Fetching models and benchmarks").
      bind(&DataSpec::train, F("train", "training examples; a named benchmark without it: its fetched split")
                                 .path()
                                 .required()
                                 .applies_when("benchmark jsonl, or given", [](const ConfigValues& v) {
                                   return is(v, "data.benchmark", "jsonl") || given(v, "data.train");
                                 })),
      bind(&DataSpec::eval, F("eval", "evaluation examples; empty: no evaluation (with no data.train: the fetched "
                                      "evaluation split)")
                                .path()),
      bind(&DataSpec::fewshot, F("fewshot", "the few-shot pool (an MMLU folder of <subject>_dev.csv); empty: beside "
                                            "the split, or the fetched pool")
                                   .path()
                                   .applies_when("given", [](const ConfigValues& v) { return given(v, "data.fewshot"); })),
      bind(&DataSpec::num_fewshot, F("num_fewshot", "worked examples before each question").at_least(0)),
      // Part of the identity of every run that draws shots (MMLU takes the first k): these draws
      // became lm-eval's own (fewshot.h), so a run from before, which drew other shots, is
      // another run and a resumed study runs it again rather than mixing the two draws.
      bind(&DataSpec::fewshot_seed,
           F("fewshot_seed", "seed of the few-shot draw, lm-evaluation-harness's (ARC, WinoGrande, GSM8K)")
               .at_least(0)
               .applies_when("num_fewshot > 0; arc_challenge, winogrande, gsm8k", [](const ConfigValues& v) {
                 return positive(v, "data.num_fewshot") &&
                        (is(v, "data.benchmark", "arc_challenge") || is(v, "data.benchmark", "winogrande") ||
                         is(v, "data.benchmark", "gsm8k"));
               })),
      bind(&DataSpec::train_limit, F("train_limit", "use at most this many training examples; 0 = all").at_least(0)),
      bind(&DataSpec::eval_limit, F("eval_limit", "use at most this many evaluation examples; 0 = all").at_least(0)),
      bind(&DataSpec::on_error, F("on_error", "a malformed example stops the run (error) or is skipped")),
  };
}

}  // namespace

const std::vector<RunField>& run_fields() {
  static const std::vector<RunField> fields = make_run_fields();
  return fields;
}

}  // namespace statetune::sweeps
