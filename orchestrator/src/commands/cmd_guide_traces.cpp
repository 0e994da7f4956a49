// statetune guide-traces: an RWKV guide writes its chain of thought and answer for every question
// of a benchmark split, with its top-k log-probs at each token, into a guide-trace file
// (data/guide_traces.h) that observer tuning and test-time scaling read (METHOD.md §4).
//
// The guide sees the question exactly as the evaluator renders it (few-shot examples included),
// without the answer: the shared context of a multiple-choice item, the prompt of a generation
// item, and for WinoGrande (one context per option) the part every option's context starts
// with, cut back to a word boundary. Trailing whitespace is left to the guide, as the evaluator
// leaves it to the continuation. It writes until end-of-text, a stop sequence (the benchmark's,
// and "\n\n", which ends every few-shot answer) or --max-tokens; the text is cut before the stop.
//
// The recorded tokens are the tokenizer's encoding of that text (what a student is trained on);
// they are re-scored from the guide's state after the prompt, so each top-k list is the guide's
// own next-token distribution at that point, whatever it sampled.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/output_path.h"
#include "statetune/common/timer.h"
#include "statetune/data/benchmark.h"
#include "statetune/data/gsm8k_extract.h"
#include "statetune/data/guide_traces.h"
#include "statetune/data/tokenizer.h"
#include "statetune/orchestrator/commands.h"
#include "statetune/orchestrator/placement.h"
#include "statetune/workers/host_device.h"
#include "cli/item_progress.h"
#include "run/guide_questions.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/rwkv7_model.h"

namespace statetune::orchestrator {

namespace {

struct GuideTraceOptions {
  std::string guide, vocab, benchmark, data, out, fewshot_data, labels, check;
  int max_tokens = 256;
  int top_k = 8;
  double temperature = 0.0;
  uint64_t seed = 0;
  uint64_t fewshot_seed = 1234;
  int64_t limit = -1;
  int64_t write_out = 0;
  int num_fewshot = -1;
  int threads = 1;
  PlacementOptions placement;
};

class GuideWriter {
 public:
  GuideWriter(const workers::Rwkv7Model& model, const data::Tokenizer& tokenizer, const GuideTraceOptions& o)
      : model_(model), tokenizer_(tokenizer), o_(o), vocab_(tokenizer.vocab_size()) {
    ST_CHECK(model.config().vocab_size >= vocab_, "{}: the guide's vocabulary ({}) is smaller than the tokenizer's ({})",
             o.guide, model.config().vocab_size, vocab_);
  }

  // The guide's trace for question `index`; `steps` receives the tokens it generated.
  data::GuideTrace write(const GuideQuestion& q, uint64_t index, int64_t& steps) const {
    at::NoGradGuard no_grad;
    std::vector<int64_t> prompt{data::Tokenizer::kEndOfText};
    for (int32_t id : tokenizer_.encode(q.prompt)) prompt.push_back(id);
    workers::ModelState state;
    at::Tensor logits = model_.forward(at::tensor(prompt, at::kLong).unsqueeze(0), at::Tensor(), nullptr, &state)
                            .select(1, static_cast<int64_t>(prompt.size()) - 1)
                            .squeeze(0);
    const workers::ModelState after_prompt = state;  // step() replaces tensors, never writes into them
    const at::Tensor first_logits = logits;

    // Each item's draw depends only on (seed, item index): the same whatever --limit.
    std::seed_seq seq{static_cast<uint32_t>(o_.seed), static_cast<uint32_t>(o_.seed >> 32),
                      static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32)};
    std::mt19937_64 rng(seq);
    size_t longest_stop = 0;
    for (const std::string& s : q.stop) longest_stop = std::max(longest_stop, s.size());
    std::string text;
    steps = 0;
    for (int i = 0; i < o_.max_tokens; ++i) {
      // Only the tokenizer's ids: a checkpoint's padding rows have no text.
      const int64_t next = workers::sample_token(logits.slice(0, 0, vocab_), o_.temperature, 1.0, rng);
      if (next == data::Tokenizer::kEndOfText) break;
      ++steps;
      const size_t before = text.size();
      text += tokenizer_.token_bytes(static_cast<int32_t>(next));
      const size_t from = before > longest_stop ? before - longest_stop : 0;
      bool stopped = false;
      for (const std::string& s : q.stop) stopped = stopped || text.find(s, from) != std::string::npos;
      if (stopped) break;
      logits = model_.step(at::tensor({next}, at::kLong), state).squeeze(0);
    }
    data::Utf8StreamDecoder utf8;  // a character cut by the token limit becomes U+FFFD
    data::GuideTrace t;
    t.id = q.id;
    t.guide = std::filesystem::path(o_.guide).filename().string();
    t.text = utf8.push(data::cut_at_stop(text, q.stop));
    t.text += utf8.flush();
    t.tokens = tokenizer_.encode(t.text);
    t.has_logprobs = true;
    t.top_logprobs = top_logprobs(t.tokens, first_logits, after_prompt);
    return t;
  }

 private:
  // Row j: the guide's top-k next tokens before tokens[j] (after the prompt and tokens[<j]).
  std::vector<std::vector<std::pair<int32_t, double>>> top_logprobs(const std::vector<int32_t>& tokens,
                                                                    const at::Tensor& first_logits,
                                                                    const workers::ModelState& after_prompt) const {
    if (tokens.empty()) return {};
    at::Tensor rows = first_logits.unsqueeze(0);
    if (tokens.size() > 1) {
      const std::vector<int64_t> ids(tokens.begin(), tokens.end() - 1);
      rows = at::cat({rows, model_.forward(at::tensor(ids, at::kLong).unsqueeze(0), at::Tensor(), &after_prompt)
                                .squeeze(0)});
    }
    // Normalised over all of the model's rows, ranked over the tokenizer's ids only.
    const at::Tensor logp = at::log_softmax(rows.to(at::kDouble), -1).slice(1, 0, vocab_);
    const int64_t k = std::min<int64_t>(o_.top_k, vocab_);
    auto top = logp.topk(k, /*dim=*/-1);
    const at::Tensor values = workers::to_host(std::get<0>(top)).contiguous();
    const at::Tensor indices = workers::to_host(std::get<1>(top)).contiguous();
    const double* v = values.data_ptr<double>();
    const int64_t* ix = indices.data_ptr<int64_t>();
    std::vector<std::vector<std::pair<int32_t, double>>> out(tokens.size());
    for (size_t j = 0; j < tokens.size(); ++j)
      for (int64_t i = 0; i < k; ++i)
        out[j].emplace_back(static_cast<int32_t>(ix[j * k + i]), v[j * k + i]);
    return out;
  }

  const workers::Rwkv7Model& model_;
  const data::Tokenizer& tokenizer_;
  const GuideTraceOptions& o_;
  int64_t vocab_;
};

// The prompt exactly as the guide reads it (after token 0), then what it wrote.
void write_out(const GuideQuestion& q, const data::GuideTrace& t) {
  const auto quoted = [](const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::printf("=== %s\n--- prompt:\n%s\n--- end of prompt\n--- stop: ", q.id.c_str(), q.prompt.c_str());
  for (const std::string& s : q.stop) std::printf("%s ", quoted(s).c_str());
  std::printf("\n--- guide: %s (%zu tokens)\n", quoted(t.text).c_str(), t.tokens.size());
}

double parameter_mib(const workers::Rwkv7Model& model) {
  int64_t count = 0;
  for (const auto& [key, shape] : workers::expected_shapes(model.config())) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    count += n;
  }
  return static_cast<double>(count) * static_cast<double>(c10::elementSize(model.dtype())) / (1024.0 * 1024.0);
}

void check_traces(const GuideTraceOptions& o) {
  const data::Tokenizer tokenizer = data::Tokenizer::load(o.vocab);
  const std::vector<data::GuideTrace> traces = data::read_guide_traces(o.check, tokenizer);
  size_t with_logprobs = 0, tokens = 0;
  for (const data::GuideTrace& t : traces) {
    with_logprobs += t.has_logprobs ? 1 : 0;
    tokens += t.tokens.size();
  }
  std::printf("%s: %zu traces, %zu with log-probs, %.1f tokens/trace: OK\n", o.check.c_str(), traces.size(),
              with_logprobs, traces.empty() ? 0.0 : static_cast<double>(tokens) / static_cast<double>(traces.size()));
}

void run_guide_traces(const GuideTraceOptions& o) {
  apply_threads(o.threads);
  if (!o.check.empty()) return check_traces(o);
  for (const auto& [value, flag] : {std::pair{&o.guide, "--guide"}, {&o.benchmark, "--benchmark"},
                                    {&o.data, "--data"}, {&o.out, "--out"}})
    ST_CHECK(!value->empty(), "guide-traces: {} is required (or --check FILE to validate a trace file)", flag);
  prepare_output_path(o.out, "--out");  // before the guide writes a single trace

  const data::Benchmark benchmark = data::parse_benchmark(o.benchmark);
  data::BenchmarkOptions bo;
  bo.num_fewshot = o.num_fewshot;
  bo.fewshot_seed = o.fewshot_seed;
  bo.fewshot_path = o.fewshot_data;
  bo.labels_path = o.labels;
  std::vector<GuideQuestion> qs = guide_questions(data::load_benchmark(benchmark, o.data, bo));
  if (o.limit >= 0 && qs.size() > static_cast<size_t>(o.limit)) qs.resize(static_cast<size_t>(o.limit));
  ST_CHECK(!qs.empty(), "{}: no items to write traces for", o.data);

  const data::Tokenizer tokenizer = data::Tokenizer::load(o.vocab);
  const Placement where = o.placement.resolve();
  const workers::Rwkv7Model model = where.load_model(o.guide);
  const workers::ModelConfig& c = model.config();
  std::printf("guide %s: %lld layers, dim %lld, vocab %lld, parameters %.1f MiB (%s)\n", o.guide.c_str(),
              static_cast<long long>(c.n_layer), static_cast<long long>(c.n_embd),
              static_cast<long long>(c.vocab_size), parameter_mib(model), where.describe().c_str());
  std::fflush(stdout);
  const GuideWriter writer(model, tokenizer, o);

  std::string lines;
  ItemProgress progress("guide-traces", qs.size());
  int64_t guide_tokens = 0, max_tokens = 0, trace_tokens = 0;
  for (size_t i = 0; i < qs.size(); ++i) {
    int64_t steps = 0;
    const data::GuideTrace t = writer.write(qs[i], i, steps);
    if (static_cast<int64_t>(i) < o.write_out) write_out(qs[i], t);
    guide_tokens += steps;
    max_tokens = std::max(max_tokens, steps);
    trace_tokens += static_cast<int64_t>(t.tokens.size());
    lines += data::guide_trace_line(t) + "\n";
    progress.update(i + 1, fmt::format("{:.1f} guide tokens/question", static_cast<double>(guide_tokens) / static_cast<double>(i + 1)));
  }
  write_file_atomic(o.out, lines);
  const size_t read_back = data::read_guide_traces(o.out, tokenizer).size();  // what a reader will see
  ST_CHECK(read_back == qs.size(), "{}: wrote {} traces but read back {}", o.out, qs.size(), read_back);

  const double seconds = progress.seconds(), n = static_cast<double>(qs.size());
  std::printf("wrote %zu traces (%s, %d-shot prompts) to %s\n", qs.size(), data::benchmark_name(benchmark),
              o.num_fewshot >= 0 ? o.num_fewshot : data::default_num_fewshot(benchmark), o.out.c_str());
  std::printf("guide tokens per question: %.1f generated (max %lld), %.1f in the trace; top-%d log-probs\n",
              static_cast<double>(guide_tokens) / n, static_cast<long long>(max_tokens),
              static_cast<double>(trace_tokens) / n, o.top_k);
  std::printf("generation wall time %.1f s (%.2f s/question, %.1f guide tokens/s)\n", seconds, seconds / n,
              seconds > 0 ? static_cast<double>(guide_tokens) / seconds : 0.0);
}

}  // namespace

void add_guide_traces_command(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "guide-traces",
      "Let a guide RWKV-7 model write its chain of thought and answer for every question of a benchmark split\n"
      "(prompts as `eval` renders them, never the gold answer), with its top-k log-probs per token, into a\n"
      "guide-trace JSONL file for observer tuning and test-time scaling. --check FILE validates an existing one.");
  auto o = std::make_shared<GuideTraceOptions>();
  auto* guide = add_model_option(*sub, "--guide", &o->guide, "The guide's ");
  add_vocab_option(*sub, &o->vocab, "the guide's and the student's tokenizer")->required();
  auto* benchmark = sub->add_option("--benchmark", o->benchmark, "arc_challenge | mmlu | winogrande | gsm8k");
  auto* data = sub->add_option("--data", o->data, "The split to write traces for (as for `eval --data`)");
  auto* out = sub->add_option("--out", o->out, "The guide-trace file to write (JSONL, written atomically)");
  sub->add_option("--check", o->check, "Only read and check this guide-trace file against --vocab")
      ->excludes(guide)
      ->excludes(benchmark)
      ->excludes(data)
      ->excludes(out);
  sub->add_option("--max-tokens", o->max_tokens, "Tokens the guide writes at most per question")
      ->capture_default_str()
      ->check(positive_count());
  sub->add_option("--top-k", o->top_k, "Log-probs recorded per token (the guide's most likely tokens)")
      ->capture_default_str()
      ->check(positive_count());
  sub->add_option("--temperature", o->temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--seed", o->seed, "Sampling seed (with --temperature > 0)")->capture_default_str();
  sub->add_option("--limit", o->limit, "Only the first N items")->check(CLI::NonNegativeNumber);
  sub->add_option("--write-out", o->write_out, "Print the first N prompts as the guide reads them, and its text")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--num-fewshot", o->num_fewshot, "Few-shot examples (default: 5 for MMLU and GSM8K, else 0)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--fewshot-data", o->fewshot_data,
                  "Few-shot pool (default: train.jsonl beside --data; MMLU: the <subject>_dev.csv files)");
  sub->add_option("--fewshot-seed", o->fewshot_seed, "Seed of the few-shot draw (as `eval --seed`)")
      ->capture_default_str();
  sub->add_option("--labels", o->labels, "WinoGrande answers in a separate labels file (upstream *-labels.lst)");
  add_placement_options(*sub, o->placement);
  add_threads_option(*sub, &o->threads);
  set_command_body(*sub, [o] { run_guide_traces(*o); });
}

}  // namespace statetune::orchestrator
