#include "statetune/orchestrator/run_resources.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "statetune/common/error.h"
#include "statetune/common/log.h"
#include "statetune/common/timer.h"

namespace statetune::orchestrator {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// STATETUNE_CACHE_MAX_MB, else 8 GiB or a quarter of physical memory, whichever is less.
int64_t cap_from_environment() {
  if (const char* env = std::getenv("STATETUNE_CACHE_MAX_MB")) {
    char* end = nullptr;
    const unsigned long long mib = std::strtoull(env, &end, 10);
    ST_CHECK(*env != '\0' && *end == '\0' && env[0] != '-',
             "STATETUNE_CACHE_MAX_MB must be a whole number of MiB (what a process keeps of models, tokenizers "
             "and data between its runs), got '{}'",
             env);
    return static_cast<int64_t>(mib) << 20;
  }
  const int64_t cap = int64_t{8} << 30;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? std::min(cap, static_cast<int64_t>(pages) * page / 4) : cap;
}

// Paths as keys: one file named two ways (relative, through "..") is one entry.
std::string canonical(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::weakly_canonical(path, ec);
  return ec ? std::filesystem::absolute(path).lexically_normal().string() : p.string();
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

template <typename T>
int64_t vector_bytes(const std::vector<T>& v) {
  return static_cast<int64_t>(sizeof(v) + v.capacity() * sizeof(T));
}

int64_t examples_bytes(const std::vector<workers::TuneExample>& examples) {
  int64_t n = vector_bytes(examples);
  for (const workers::TuneExample& e : examples) {
    n += vector_bytes(e.tokens) + vector_bytes(e.is_target) + vector_bytes(e.guide_top_k);
    for (const auto& top : e.guide_top_k) n += vector_bytes(top);
  }
  return n;
}

int64_t strings_bytes(const std::vector<std::string>& strings) {
  int64_t n = vector_bytes(strings);
  for (const std::string& s : strings) n += static_cast<int64_t>(s.capacity());
  return n;
}

// Estimated: the containers' elements and strings (allocator overheads aside).
int64_t run_examples_bytes(const RunExamples& ex) {
  int64_t n = examples_bytes(ex.train) + examples_bytes(ex.eval);
  for (const auto& q : ex.guide_questions) n += vector_bytes(q);
  for (const data::McRequest& r : ex.eval_benchmark.mc)
    n += static_cast<int64_t>(sizeof(r) + r.id.size() + r.source.size()) + strings_bytes(r.contexts) +
         strings_bytes(r.continuations) + vector_bytes(r.norm_lengths);
  for (const data::GenRequest& r : ex.eval_benchmark.gen)
    n += static_cast<int64_t>(sizeof(r) + r.id.size() + r.prompt.size() + r.gold.size() + r.target.size() +
                              r.source.size()) +
         strings_bytes(r.stop);
  return n;
}

int64_t guide_traces_bytes(const data::GuideTraces& traces) {
  int64_t n = 0;
  for (const data::GuideTrace& t : traces.traces()) {
    n += static_cast<int64_t>(sizeof(t) + t.id.size() + t.text.size() + t.guide.size() + t.source.size()) +
         vector_bytes(t.tokens) + vector_bytes(t.top_logprobs);
    for (const auto& top : t.top_logprobs) n += vector_bytes(top);
  }
  return n;
}

}  // namespace

ResourceCache& process_cache() {
  // Never destroyed: models on a GPU would otherwise be freed after the CUDA runtime has shut down.
  static ResourceCache* cache = new ResourceCache(cap_from_environment(), [](const std::string& line) {
    log::info("{}", line);
  });
  return *cache;
}

std::shared_ptr<const workers::Rwkv7Model> shared_model(const std::string& path, const Placement& placement,
                                                        const std::string& role, const Note& note) {
  const std::string file = canonical(path);
  const std::string where = placement.describe();
  bool hit = false;
  Timer timer;
  auto model = process_cache().get<workers::Rwkv7Model>(
      "model|" + file + "|" + where, "model " + file + " on " + where, file_bytes(file),
      [&] {
        auto m = std::make_shared<const workers::Rwkv7Model>(placement.load_model(path));
        return ResourceCache::Loaded{m, m->weight_bytes(), {file}};
      },
      &hit);
  if (note) {
    const workers::ModelConfig& c = model->config();
    note(fmt::format("{} {}: L={} C={} V={}, {:.0f} MiB of weights on {}, {}", role, path, c.n_layer, c.n_embd,
                     c.vocab_size, static_cast<double>(model->weight_bytes()) / kMiB, where,
                     hit ? "reused from an earlier run of this process"
                         : fmt::format("loaded in {:.1f} s (cached for the next runs)", timer.seconds())));
  }
  return model;
}

std::shared_ptr<const data::Tokenizer> shared_tokenizer(const std::string& vocab_path) {
  const std::string file = canonical(vocab_path);
  // The token strings (about the file) and the trie (about 2 MB for the real 1.1 MB file, tokenizer.h).
  const int64_t estimate = 3 * file_bytes(file);
  return process_cache().get<data::Tokenizer>("vocab|" + file, "vocabulary " + file, estimate, [&] {
    return ResourceCache::Loaded{std::make_shared<const data::Tokenizer>(data::Tokenizer::load(vocab_path)), estimate,
                                 {file}};
  });
}

std::shared_ptr<const RunExamples> shared_run_examples(const sweeps::RunSpec& spec, const data::Tokenizer& tokenizer) {
  const std::string vocab = canonical(spec.vocab);
  return process_cache().get<RunExamples>(
      "data|" + run_examples_key(spec) + "|vocab " + vocab, "tokenized data " + spec.data.train,
      file_bytes(spec.data.train) + file_bytes(spec.data.eval), [&] {
        auto ex = std::make_shared<RunExamples>(load_run_examples(spec, tokenizer));
        std::vector<std::string> files{vocab};
        for (const std::string& f : ex->files) files.push_back(canonical(f));
        const int64_t bytes = run_examples_bytes(*ex);
        return ResourceCache::Loaded{std::move(ex), bytes, std::move(files)};
      });
}

std::shared_ptr<const data::GuideTraces> shared_guide_traces(const std::string& path, const std::string& vocab_path,
                                                             const data::Tokenizer& tokenizer) {
  const std::string file = canonical(path), vocab = canonical(vocab_path);
  return process_cache().get<data::GuideTraces>("traces|" + file + "|vocab " + vocab, "guide traces " + file,
                                                file_bytes(file), [&] {
                                                  auto t = std::make_shared<const data::GuideTraces>(
                                                      data::GuideTraces::load(path, tokenizer));
                                                  const int64_t bytes = guide_traces_bytes(*t);
                                                  return ResourceCache::Loaded{t, bytes, {file, vocab}};
                                                });
}

}  // namespace statetune::orchestrator
