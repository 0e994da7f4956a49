#include "statetune/data/benchmark.h"

#include <filesystem>
#include <map>

#include "statetune/common/error.h"
#include "statetune/data/arc_reader.h"
#include "statetune/data/fewshot.h"
#include "statetune/data/gsm8k_reader.h"
#include "statetune/data/mmlu_reader.h"
#include "statetune/data/prompts.h"
#include "statetune/data/winogrande_reader.h"

namespace statetune::data {

namespace fs = std::filesystem;

namespace {

template <typename Item>
void absorb_skips(RenderedBenchmark& out, const ReadResult<Item>& read) {
  out.skipped += read.skipped;
  out.skip_messages.insert(out.skip_messages.end(), read.skip_messages.begin(), read.skip_messages.end());
}

// "train.jsonl" beside a JSONL split.
std::string default_jsonl_pool(const std::string& data_path) {
  return (fs::path(data_path).parent_path() / "train.jsonl").string();
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec);
}

// The pool index of `item` when the pool is the scored file, to keep an item out of its shots.
template <typename Item>
size_t index_in_pool(const std::vector<Item>& pool, const Item& item) {
  for (size_t i = 0; i < pool.size(); ++i)
    if (pool[i].source == item.source) return i;
  return kNoExclusion;
}

// Reads the split and (if k > 0) its pool, then renders every item with its drawn shots.
template <typename Item, typename Read, typename Render>
void render_jsonl(RenderedBenchmark& out, const std::string& data_path, const BenchmarkOptions& options, Read&& read,
                  Render&& render) {
  ReadResult<Item> split = read(data_path);
  absorb_skips(out, split);
  ReadResult<Item> pool;
  const auto k = static_cast<size_t>(out.num_fewshot);
  if (k > 0) {
    out.fewshot_path = options.fewshot_path.empty() ? default_jsonl_pool(data_path) : options.fewshot_path;
    ST_CHECK(fs::exists(out.fewshot_path), "{}: few-shot pool not found (give it with --fewshot-data)",
             out.fewshot_path);
    if (same_file(out.fewshot_path, data_path)) {
      pool = split;
    } else {
      pool = read(out.fewshot_path);
      absorb_skips(out, pool);
    }
  }
  for (size_t i = 0; i < split.items.size(); ++i) {
    std::vector<Item> shots;
    if (k > 0)
      for (size_t j : draw_fewshot(pool.items.size(), k, options.seed, i, index_in_pool(pool.items, split.items[i])))
        shots.push_back(pool.items[j]);
    render(out, split.items[i], shots);
  }
}

// The folder holding the MMLU dev files for a data path (see BenchmarkOptions::fewshot_path).
std::string mmlu_pool_folder(const std::string& data_path) {
  const fs::path data = fs::is_directory(data_path) ? fs::path(data_path) : fs::path(data_path).parent_path();
  auto has_dev = [](const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return false;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 8 && name.compare(name.size() - 8, 8, "_dev.csv") == 0) return true;
    }
    return false;
  };
  for (const fs::path& dir : {data, data.parent_path() / "train", data.parent_path() / "dev"})
    if (has_dev(dir)) return dir.string();
  fail("{}: no MMLU <subject>_dev.csv few-shot files beside it or in ../train or ../dev (give --fewshot-data)",
       data_path);
}

void render_mmlu_split(RenderedBenchmark& out, const std::string& data_path, const BenchmarkOptions& options) {
  ReadResult<MmluItem> split = read_mmlu(data_path, "test", options.read);
  absorb_skips(out, split);
  std::map<std::string, std::vector<MmluItem>> pool_by_subject;
  const auto k = static_cast<size_t>(out.num_fewshot);
  if (k > 0) {
    out.fewshot_path = options.fewshot_path.empty() ? mmlu_pool_folder(data_path) : options.fewshot_path;
    ReadResult<MmluItem> pool = read_mmlu(out.fewshot_path, "dev", options.read);
    absorb_skips(out, pool);
    for (MmluItem& item : pool.items) pool_by_subject[item.subject].push_back(std::move(item));
  }
  for (const MmluItem& item : split.items) {
    std::vector<MmluItem> shots;
    if (k > 0) {
      auto found = pool_by_subject.find(item.subject);
      ST_CHECK(found != pool_by_subject.end(), "{}: no {}_dev.csv in {} for the few-shot examples", item.source,
               item.subject, out.fewshot_path);
      for (size_t j : first_fewshot(found->second.size(), k, index_in_pool(found->second, item)))
        shots.push_back(found->second[j]);
    }
    out.mc.push_back(render_mmlu(item, shots));
  }
}

}  // namespace

Benchmark parse_benchmark(const std::string& name) {
  if (name == "arc_challenge" || name == "arc") return Benchmark::arc_challenge;
  if (name == "mmlu") return Benchmark::mmlu;
  if (name == "winogrande") return Benchmark::winogrande;
  if (name == "gsm8k") return Benchmark::gsm8k;
  fail("unknown benchmark \"{}\": expected arc_challenge, mmlu, winogrande or gsm8k", name);
}

const char* benchmark_name(Benchmark benchmark) {
  switch (benchmark) {
    case Benchmark::arc_challenge: return "arc_challenge";
    case Benchmark::mmlu: return "mmlu";
    case Benchmark::winogrande: return "winogrande";
    case Benchmark::gsm8k: return "gsm8k";
  }
  return "?";
}

bool is_generation(Benchmark benchmark) { return benchmark == Benchmark::gsm8k; }

int default_num_fewshot(Benchmark benchmark) {
  return benchmark == Benchmark::mmlu || benchmark == Benchmark::gsm8k ? 5 : 0;
}

RenderedBenchmark load_benchmark(Benchmark benchmark, const std::string& data_path, const BenchmarkOptions& options) {
  RenderedBenchmark out;
  out.benchmark = benchmark;
  out.num_fewshot = options.num_fewshot < 0 ? default_num_fewshot(benchmark) : options.num_fewshot;
  const ReadOptions& ro = options.read;
  switch (benchmark) {
    case Benchmark::arc_challenge:
      render_jsonl<ArcItem>(
          out, data_path, options, [&](const std::string& p) { return read_arc(p, ro); },
          [](RenderedBenchmark& o, const ArcItem& item, const std::vector<ArcItem>& shots) {
            o.mc.push_back(render_arc(item, shots));
          });
      break;
    case Benchmark::winogrande: {
      // The labels file belongs to the scored split only; the pool carries its own answers.
      auto read = [&, first = true](const std::string& p) mutable {
        const std::string labels = first ? options.labels_path : "";
        first = false;
        return read_winogrande(p, ro, labels);
      };
      render_jsonl<WinograndeItem>(out, data_path, options, read,
                                   [](RenderedBenchmark& o, const WinograndeItem& item,
                                      const std::vector<WinograndeItem>& shots) {
                                     o.mc.push_back(render_winogrande(item, shots));
                                   });
      break;
    }
    case Benchmark::gsm8k:
      render_jsonl<Gsm8kItem>(
          out, data_path, options, [&](const std::string& p) { return read_gsm8k(p, ro); },
          [](RenderedBenchmark& o, const Gsm8kItem& item, const std::vector<Gsm8kItem>& shots) {
            o.gen.push_back(render_gsm8k(item, shots));
          });
      break;
    case Benchmark::mmlu:
      render_mmlu_split(out, data_path, options);
      break;
  }
  return out;
}

std::vector<TrainingExample> training_examples(const RenderedBenchmark& rendered) {
  std::vector<TrainingExample> out;
  for (const McRequest& r : rendered.mc) out.push_back(training_example(r));
  for (const GenRequest& r : rendered.gen) out.push_back(training_example(r));
  return out;
}

}  // namespace statetune::data
