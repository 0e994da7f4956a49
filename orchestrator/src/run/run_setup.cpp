#include "statetune/orchestrator/run_setup.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "run/guide_questions.h"
#include "statetune/common/error.h"
#include "statetune/data/guide_traces.h"
#include "statetune/sweeps/run_config.h"

namespace statetune::orchestrator {
namespace {

std::vector<int64_t> encode(const data::Tokenizer& tok, const std::string& text) {
  std::vector<int64_t> ids;
  for (int32_t id : tok.encode(text)) ids.push_back(id);
  return ids;
}

data::Benchmark benchmark_of(sweeps::Benchmark b) {
  switch (b) {
    case sweeps::Benchmark::kArcChallenge: return data::Benchmark::arc_challenge;
    case sweeps::Benchmark::kMmlu: return data::Benchmark::mmlu;
    case sweeps::Benchmark::kWinogrande: return data::Benchmark::winogrande;
    case sweeps::Benchmark::kGsm8k: return data::Benchmark::gsm8k;
    case sweeps::Benchmark::kJsonl: break;
  }
  fail("jsonl is not a benchmark");
}

std::vector<workers::TuneExample> read_jsonl_examples(const std::string& path, const data::Tokenizer& tok,
                                                      int64_t max_tokens, int64_t limit, bool skip,
                                                      size_t& skipped) {
  std::ifstream in(path);
  ST_CHECK(in.good(), "{}: cannot open the data file", path);
  std::vector<workers::TuneExample> out;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      ST_CHECK(j.is_object() && j.contains("context") && j["context"].is_string(),
               "{}:{}: expected a JSON object with a string \"context\"", path, n);
      ST_CHECK(j.contains("target") && j["target"].is_string() && !j["target"].get<std::string>().empty(),
               "{}:{}: expected a non-empty string \"target\"", path, n);
      out.push_back(tokenize_example(tok, j["context"].get<std::string>(), j["target"].get<std::string>(), max_tokens));
    } catch (const nlohmann::json::exception& e) {
      if (!skip) fail("{}:{}: not valid JSON ({})", path, n, e.what());
      ++skipped;
      continue;
    } catch (const Error&) {
      if (!skip) throw;
      ++skipped;
      continue;
    }
    if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
  }
  ST_CHECK(!out.empty(), "{}: no examples", path);
  return out;
}

// An example's tokens before its first target: the question of a JSONL example.
std::vector<int64_t> context_of(const workers::TuneExample& e) {
  size_t n = 1;
  while (n < e.tokens.size() && !e.is_target[n]) ++n;
  return {e.tokens.begin(), e.tokens.begin() + static_cast<std::ptrdiff_t>(n)};
}

}  // namespace

std::vector<int64_t> prompt_tokens(const data::Tokenizer& tokenizer, const std::string& text) {
  std::vector<int64_t> ids{0};
  for (int32_t id : tokenizer.encode(text)) ids.push_back(id);
  return ids;
}

workers::TuneExample tokenize_example(const data::Tokenizer& tokenizer, const std::string& context,
                                      const std::string& target, int64_t max_tokens) {
  return workers::target_example(prompt_tokens(tokenizer, context), encode(tokenizer, target), max_tokens);
}

workers::TuneOptions tune_options_from(const sweeps::RunSpec& s, const data::Tokenizer& tokenizer) {
  ST_CHECK(s.method != sweeps::Method::kTts, "tune_options_from: method tts tunes per question (run_tts)");
  workers::TuneOptions o;
  o.method = s.method == sweeps::Method::kStandard ? workers::TuneMethod::kStandard
             : s.method == sweeps::Method::kKernel ? workers::TuneMethod::kKernel
                                                   : workers::TuneMethod::kDbp;
  o.tune_shift = s.shift == sweeps::Shift::kTune;
  o.linear = s.linear;
  if (s.init == sweeps::Init::kPrompt) {
    o.init_prompt = prompt_tokens(tokenizer, s.init_prompt);
  }
  o.kernel.M = s.M;
  o.kernel.kmeans = s.support == sweeps::Support::kKmeans;
  o.kernel.kmeans_iters = s.kmeans_iters;
  o.kernel.gamma = s.gamma.value_or(0.0);
  o.kernel.gamma_scale = s.gamma_scale;
  o.lr = s.lr;
  o.lr_kernel = s.lr_kernel;
  o.dbp.lambda = s.dbp_lambda;
  o.dbp.kappa = s.kappa;
  o.dbp.max_rel_step = s.dbp_max_rel_step;
  o.trainer.steps = s.steps;
  o.trainer.accumulation = s.accumulation;
  o.trainer.max_grad_norm = s.max_grad_norm;
  o.trainer.schedule.kind =
      s.schedule == sweeps::Schedule::kCosine ? workers::LrSchedule::kCosine : workers::LrSchedule::kConstant;
  o.trainer.schedule.warmup_steps = s.warmup_steps;
  o.trainer.schedule.final_ratio = s.final_lr_ratio;
  o.batch = s.batch;
  o.seed = static_cast<uint64_t>(s.seed);
  o.checkpoint_every = s.checkpoint_every;
  o.checkpoint_path = s.checkpoint;
  o.fingerprint = std::stoull(sweeps::run_hash(s), nullptr, 16);
  return o;
}

std::string run_examples_key(const sweeps::RunSpec& s) {
  const sweeps::DataSpec& d = s.data;
  std::string key = fmt::format("{}|train {}|eval {}|pool {}|fewshot {}|limits {} {}|on_error {}|max_tokens {}",
                                sweeps::to_string(d.benchmark), d.train, d.eval, d.fewshot, d.num_fewshot, d.train_limit,
                                d.eval_limit, sweeps::to_string(d.on_error), s.max_tokens);
  // The few-shot seed draws a benchmark's shots: zero-shot and JSONL examples do not depend on it.
  if (d.benchmark != sweeps::Benchmark::kJsonl && d.num_fewshot != 0) key += fmt::format("|fewshot_seed {}", d.fewshot_seed);
  // What decides between gold text, a trace file's text and questions for the guide to write after.
  key += fmt::format("|target {}|tts {}|guide writes {}|traces {}", sweeps::to_string(s.target),
                     s.method == sweeps::Method::kTts, s.guide_generate_tokens > 0, s.guide_traces);
  return key;
}

RunExamples load_run_examples(const sweeps::RunSpec& s, const data::Tokenizer& tok) {
  RunExamples out;
  out.files = {s.data.train};
  if (!s.data.eval.empty()) out.files.push_back(s.data.eval);
  if (!s.guide_traces.empty()) out.files.push_back(s.guide_traces);
  const bool skip = s.data.on_error == sweeps::OnError::kSkip;
  ST_CHECK(s.guide_traces.empty() || s.data.benchmark != sweeps::Benchmark::kJsonl || s.method == sweeps::Method::kTts,
           "{}: guide_traces: traces are matched to benchmark items by id; a jsonl training file has none",
           s.guide_traces);
  // The guide writes its own text after each question (run_executor, once the guide is loaded).
  const bool guide_writes = s.target == sweeps::Target::kGuide && s.method != sweeps::Method::kTts &&
                            s.guide_generate_tokens > 0;
  if (s.data.benchmark == sweeps::Benchmark::kJsonl) {
    out.train = read_jsonl_examples(s.data.train, tok, s.max_tokens, s.data.train_limit, skip, out.skipped);
    if (!s.data.eval.empty())
      out.eval = read_jsonl_examples(s.data.eval, tok, s.max_tokens, s.data.eval_limit, skip, out.skipped);
    if (guide_writes) {
      for (const workers::TuneExample& e : out.train) out.guide_questions.push_back(context_of(e));
      out.train.clear();
    }
    return out;
  }
  data::BenchmarkOptions bo;
  bo.num_fewshot = static_cast<int>(s.data.num_fewshot);
  bo.fewshot_path = s.data.fewshot;  // "": beside the split
  bo.fewshot_seed = static_cast<uint64_t>(s.data.fewshot_seed);
  bo.read.on_error = skip ? data::OnError::skip : data::OnError::fail;
  const data::Benchmark b = benchmark_of(s.data.benchmark);
  data::RenderedBenchmark train = data::load_benchmark(b, s.data.train, bo);
  out.skipped += train.skipped;
  if (!train.fewshot_path.empty()) out.files.push_back(train.fewshot_path);
  if (s.target == sweeps::Target::kGuide && !s.guide_traces.empty()) {
    // Observer tuning on a trace file: each training question followed by the guide's own
    // text (its chain of thought and answer), never the gold answer.
    const data::GuideTraces traces = data::GuideTraces::load(s.guide_traces, tok);
    for (const GuideQuestion& q : guide_questions(train)) {
      const data::GuideTrace& t = traces.at(q.id);
      if (t.tokens.empty()) continue;
      workers::TuneExample e = tokenize_example(tok, q.prompt, t.text, s.max_tokens);
      if (t.has_logprobs) {
        // The trace's top-k per token: the loss becomes the top-k KL (masked_topk_kl). The
        // target tokens are the trace's tokens (both are encode(text)), possibly cut short.
        e.guide_top_k.assign(e.tokens.size(), {});
        size_t j = 0;
        for (size_t p = 1; p < e.tokens.size() && j < t.top_logprobs.size(); ++p) {
          if (!e.is_target[p]) continue;
          for (const auto& [id, lp] : t.top_logprobs[j++]) e.guide_top_k[p].emplace_back(id, lp);
        }
      }
      out.train.push_back(std::move(e));
      if (s.data.train_limit > 0 && static_cast<int64_t>(out.train.size()) >= s.data.train_limit) break;
    }
  } else if (guide_writes) {
    // Each training question as the guide reads it (never its answer), for the guide to write after.
    for (const GuideQuestion& q : guide_questions(train)) {
      out.guide_questions.push_back(prompt_tokens(tok, q.prompt));
      if (s.data.train_limit > 0 && static_cast<int64_t>(out.guide_questions.size()) >= s.data.train_limit) break;
    }
  } else {
    for (const auto& ex : data::training_examples(train)) {
      out.train.push_back(tokenize_example(tok, ex.context, ex.target, s.max_tokens));
      if (s.data.train_limit > 0 && static_cast<int64_t>(out.train.size()) >= s.data.train_limit) break;
    }
  }
  ST_CHECK(!out.train.empty() || !out.guide_questions.empty(), "{}: no training examples", s.data.train);
  if (!s.data.eval.empty()) {
    out.eval_benchmark = data::load_benchmark(b, s.data.eval, bo);
    out.skipped += out.eval_benchmark.skipped;
    if (!out.eval_benchmark.fewshot_path.empty()) out.files.push_back(out.eval_benchmark.fewshot_path);
    if (s.data.eval_limit > 0) {
      auto& mc = out.eval_benchmark.mc;
      auto& gen = out.eval_benchmark.gen;
      if (static_cast<int64_t>(mc.size()) > s.data.eval_limit) mc.resize(static_cast<size_t>(s.data.eval_limit));
      if (static_cast<int64_t>(gen.size()) > s.data.eval_limit) gen.resize(static_cast<size_t>(s.data.eval_limit));
    }
  }
  return out;
}

}  // namespace statetune::orchestrator
