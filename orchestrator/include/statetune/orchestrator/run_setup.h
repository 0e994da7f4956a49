#pragma once
// From a RunSpec (sweeps/, the YAML schema) to what workers/ needs: tuning options, the
// tokenized training and evaluation examples, the guide. Shared by `tune` and (later) `sweep`.
#include <string>
#include <vector>

#include "statetune/data/benchmark.h"
#include "statetune/data/tokenizer.h"
#include "statetune/sweeps/run_spec.h"
#include "statetune/workers/state_tuner.h"

namespace statetune::orchestrator {

workers::TuneOptions tune_options_from(const sweeps::RunSpec& spec, const data::Tokenizer& tokenizer);

struct RunExamples {
  std::vector<workers::TuneExample> train;  // all of them (sharding happens per rank)
  std::vector<workers::TuneExample> eval;   // jsonl eval split; empty for benchmarks
  data::RenderedBenchmark eval_benchmark;   // benchmark eval split (size() == 0 if none)
  size_t skipped = 0;                       // malformed records skipped (on_error: skip)
  // guide_generate_tokens > 0: the training questions (token 0 first) the guide writes its
  // text after; `train` stays empty until the run has the guide (guide_written_examples).
  std::vector<std::vector<int64_t>> guide_questions;
  // Every file or folder read (the splits, their few-shot pools, a trace file): a cache of
  // these examples checks them for changes.
  std::vector<std::string> files;
};

// Reads data.train (and data.eval): a benchmark split in its upstream format, or JSONL lines
// {"context": "...", "target": "..."}. Each example is [0] + context tokens + target tokens,
// the loss on the target tokens only; examples longer than max_tokens lose context tokens
// from the front (the target is kept whole when it fits). With `target: guide` and
// guide_generate_tokens > 0 it reads the questions instead (a benchmark's as `guide-traces`
// renders them, a JSONL example's context), into guide_questions.
RunExamples load_run_examples(const sweeps::RunSpec& spec, const data::Tokenizer& tokenizer);

// Every field of the spec that load_run_examples reads, as text: two specs with the same key
// (and the same vocabulary and files) give the same examples. Written beside it so that the
// two change together.
std::string run_examples_key(const sweeps::RunSpec& spec);

// Token 0 (end-of-text, as every prompt begins) then the text's tokens: a prompt the model reads
// from its initial state (init_prompt, a guide's prefix, a tts question).
std::vector<int64_t> prompt_tokens(const data::Tokenizer& tokenizer, const std::string& text);

workers::TuneExample tokenize_example(const data::Tokenizer& tokenizer, const std::string& context,
                                      const std::string& target, int64_t max_tokens);

}  // namespace statetune::orchestrator
