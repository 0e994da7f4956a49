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

// lm-eval drops a drawn doc equal to the scored one (`x != doc` on the dataset's dicts): the same
// fields, compared as the Hugging Face datasets hold them (ids only where the dataset has them).
bool same_doc(const ArcItem& a, const ArcItem& b) {
  return a.id == b.id && a.stem == b.stem && a.choices == b.choices && a.labels == b.labels && a.gold == b.gold;
}
bool same_doc(const MmluItem& a, const MmluItem& b) {
  return a.subject == b.subject && a.question == b.question && a.choices == b.choices && a.gold == b.gold;
}
bool same_doc(const WinograndeItem& a, const WinograndeItem& b) {
  return a.sentence == b.sentence && a.option1 == b.option1 && a.option2 == b.option2 && a.gold == b.gold;
}
bool same_doc(const Gsm8kItem& a, const Gsm8kItem& b) { return a.question == b.question && a.answer == b.answer; }

// Reads the split and (if k > 0) its pool, then renders every item with its shots, drawn as
// lm-eval draws them (fewshot.h): one random.Random(fewshot_seed) advanced through all the
// split's items in order, n = k (+1 when the pool is the scored split, or always for
// `extra_draw` tasks), docs equal to the scored one dropped, the first k kept.
template <typename Item, typename Read, typename Render>
void render_jsonl(RenderedBenchmark& out, const std::string& data_path, const BenchmarkOptions& options, Read&& read,
                  Render&& render, bool extra_draw = false) {
  ReadResult<Item> split = read(data_path);
  absorb_skips(out, split);
  ReadResult<Item> pool;
  const auto k = static_cast<size_t>(out.num_fewshot);
  std::vector<std::vector<size_t>> draws(split.items.size());
  if (k > 0) {
    out.fewshot_path = options.fewshot_path.empty() ? default_jsonl_pool(data_path) : options.fewshot_path;
    ST_CHECK(fs::exists(out.fewshot_path), "{}: few-shot pool not found (give it with --fewshot-data)",
             out.fewshot_path);
    const bool pool_is_split = same_file(out.fewshot_path, data_path);
    if (pool_is_split) {
      pool = split;
    } else {
      pool = read(out.fewshot_path);
      absorb_skips(out, pool);
    }
    draws = lm_eval_random_draws(pool.items.size(), lm_eval_draw_size(k, pool_is_split || extra_draw),
                                 options.fewshot_seed, split.items.size());
  }
  for (size_t i = 0; i < split.items.size(); ++i) {
    const Item& item = split.items[i];
    std::vector<Item> shots;
    for (size_t j : keep_shots(draws[i], k, [&](size_t d) { return same_doc(pool.items[d], item); }))
      shots.push_back(pool.items[j]);
    render(out, item, shots);
  }
}

// The folder holding the MMLU dev files for a data path (see BenchmarkOptions::fewshot_path).
std::string mmlu_pool_folder(const std::string& data_path) {
  const fs::path data = fs::is_directory(data_path) ? fs::path(data_path) : fs::path(data_path).parent_path();
  for (const fs::path& dir : {data, data.parent_path() / "train", data.parent_path() / "dev"})
    if (!mmlu_split_files(dir.string(), "dev").empty()) return dir.string();
  fail("{}: no MMLU <subject>_dev.csv few-shot files beside it or in ../train or ../dev (give --fewshot-data)",
       data_path);
}

// The split a folder holds: its <subject>_test.csv files, else _val.csv (the fetched MMLU's
// training split is upstream's val folder), else _dev.csv.
std::string mmlu_folder_split(const std::string& data_path) {
  for (const char* split : {"test", "val", "dev"})
    if (!mmlu_split_files(data_path, split).empty()) return split;
  return "test";  // a single file names its own split; an empty folder: read_mmlu says it has none
}

void render_mmlu_split(RenderedBenchmark& out, const std::string& data_path, const BenchmarkOptions& options) {
  ReadResult<MmluItem> split = read_mmlu(data_path, mmlu_folder_split(data_path), options.read);
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
      // The first_n sampler: the first k dev items (fewshot_split dev is not test_split test).
      const std::vector<MmluItem>& dev = found->second;
      const std::vector<size_t> draw = first_n_draw(dev.size(), lm_eval_draw_size(k, false));
      for (size_t j : keep_shots(draw, k, [&](size_t d) { return same_doc(dev[d], item); }))
        shots.push_back(dev[j]);
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
                                   },
                                   // lm-eval's winogrande.yaml sets neither fewshot_split nor
                                   // test_split: None == None, so it draws k + 1 (samplers.py).
                                   /*extra_draw=*/true);
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
