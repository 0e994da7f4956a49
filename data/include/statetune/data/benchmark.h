#pragma once
// One call from (benchmark name, data path) to rendered requests: reads the split to score and
// its few-shot pool, draws each item's examples, renders the prompts (prompts.h).
#include <cstdint>
#include <string>
#include <vector>

#include "statetune/data/fewshot.h"
#include "statetune/data/read_options.h"
#include "statetune/data/requests.h"

namespace statetune::data {

enum class Benchmark { arc_challenge, mmlu, winogrande, gsm8k };

// "arc_challenge" (or "arc"), "mmlu", "winogrande", "gsm8k"; throws listing them otherwise.
Benchmark parse_benchmark(const std::string& name);
const char* benchmark_name(Benchmark benchmark);
bool is_generation(Benchmark benchmark);
// The shots used when none are asked for: 5 for MMLU and GSM8K (as the paper reports them),
// 0 for ARC-Challenge and WinoGrande (lm-eval's defaults).
int default_num_fewshot(Benchmark benchmark);

struct BenchmarkOptions {
  int num_fewshot = -1;  // -1: default_num_fewshot
  // The few-shot draw's seed: lm-eval's fewshot_random_seed (default 1234), one
  // random.Random(fewshot_seed) per benchmark advanced item after item (fewshot.h). ARC,
  // WinoGrande, GSM8K; MMLU takes the first k. Independent of the run's training seed.
  uint64_t fewshot_seed = kLmEvalFewshotSeed;
  ReadOptions read;
  // Where the few-shot pool is. Empty: for a JSONL split, "train.jsonl" in the same folder; for
  // MMLU, the <subject>_dev.csv files in the data folder, or else in its sibling "train" or
  // "dev" folder. When the pool is the scored file itself, an item never gets itself as a shot
  // (lm-eval with fewshot_split == test_split: k + 1 drawn, the item dropped, k kept).
  std::string fewshot_path;
  std::string labels_path;  // WinoGrande answers in a separate labels file (upstream form)
};

struct RenderedBenchmark {
  Benchmark benchmark = Benchmark::arc_challenge;
  int num_fewshot = 0;
  std::string fewshot_path;        // the pool actually used ("" for zero-shot)
  std::vector<McRequest> mc;       // ARC, MMLU, WinoGrande
  std::vector<GenRequest> gen;     // GSM8K
  size_t skipped = 0;              // malformed records skipped (on_error: skip), split and pool
  std::vector<std::string> skip_messages;

  size_t size() const { return mc.size() + gen.size(); }
};

RenderedBenchmark load_benchmark(Benchmark benchmark, const std::string& data_path, const BenchmarkOptions& options);

// Training examples for tuning on a benchmark split, rendered like evaluation prompts (with
// the same few-shot rules) and targeting the gold continuation.
std::vector<TrainingExample> training_examples(const RenderedBenchmark& rendered);

}  // namespace statetune::data
