#include "run/baseline_memo.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "statetune/common/hash.h"
#include "statetune/orchestrator/resource_cache.h"
#include "statetune/results/study_reader.h"

namespace statetune::orchestrator {
namespace {

// FNV-1a (common/hash.h) over a sequence of pieces, each followed by its length so that
// ("ab", "c") and ("a", "bc") differ.
class Fingerprint {
 public:
  void add(std::string_view bytes) {
    hash_ = fnv1a64(bytes, hash_);
    const std::uint64_t n = bytes.size();
    hash_ = fnv1a64(std::string_view(reinterpret_cast<const char*>(&n), sizeof(n)), hash_);
  }
  // A file by its path and what the process cache keys it on (size, mtime, device, inode).
  void add_file(const std::string& path) {
    add(path);
    add(file_signature(path));
  }
  // Undefined tensors count as such; defined ones by dtype, shape and bytes (one host copy).
  void add_tensor(const at::Tensor& t) {
    if (!t.defined()) return add("undefined");
    const at::Tensor host = t.detach().to(at::kCPU).contiguous();
    add(fmt::format("{}{}", std::string(c10::toString(host.scalar_type())), fmt::join(host.sizes(), ",")));
    add(std::string_view(static_cast<const char*>(host.data_ptr()), host.nbytes()));
  }
  std::string hex() const { return hex16(hash_); }

 private:
  std::uint64_t hash_ = kFnv1a64Basis;
};

// JSON has no NaN (a metric that was not measured): null.
nlohmann::json number(double v) { return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v); }
double number(const nlohmann::json& v) { return v.is_null() ? std::nan("") : v.get<double>(); }

}  // namespace

std::string baseline_key(const sweeps::RunSpec& spec, const Placement& placement, const RunExamples& ex,
                         const workers::ModelState& start, int group_size) {
  Fingerprint f;
  f.add_file(spec.model);
  f.add(fmt::format("{} {}", placement.device.is_cuda() ? "cuda" : placement.device.str(),
                    std::string(c10::toString(placement.weights_dtype))));
  f.add_file(spec.vocab);
  f.add(fmt::format("max_tokens {} batch {} threads {} ranks {}", spec.max_tokens, spec.batch, spec.threads, group_size));
  for (const auto& e : ex.eval) {
    f.add(std::string_view(reinterpret_cast<const char*>(e.tokens.data()), e.tokens.size() * sizeof(int64_t)));
    f.add(std::string_view(reinterpret_cast<const char*>(e.is_target.data()), e.is_target.size()));
  }
  const data::RenderedBenchmark& b = ex.eval_benchmark;
  f.add(fmt::format("benchmark {} fewshot {}", static_cast<int>(b.benchmark), b.num_fewshot));
  for (const auto& r : b.mc) {
    f.add(r.id);
    f.add(r.subject);
    for (const auto& c : r.contexts) f.add(c);
    for (const auto& c : r.continuations) f.add(c);
    for (const double n : r.norm_lengths) f.add(fmt::format("{}", n));
    f.add(fmt::format("gold {}", r.gold));
  }
  for (const auto& r : b.gen) {
    f.add(r.id);
    f.add(r.prompt);
    f.add(r.gold);
    for (const auto& s : r.stop) f.add(s);
  }
  for (const workers::LayerState& layer : start) {
    for (const at::Tensor* t : {&layer.att_shift, &layer.wkv, &layer.ffn_shift, &layer.transport}) f.add_tensor(*t);
    if (layer.readout) {
      for (const at::Tensor* t : {&layer.readout->support, &layer.readout->gamma, &layer.readout->R,
                                  &layer.readout->S_hat, &layer.readout->Q})
        f.add_tensor(*t);
    }
  }
  return f.hex();
}

std::map<std::string, BaselineMemo::Entry> BaselineMemo::in_study(const std::string& path) {
  std::map<std::string, Entry> out;
  const results::StudyReader reader = results::StudyReader::open(path, results::ReadDetail::kStatus);
  for (const results::RunInfo& run : reader.runs()) {
    if (run.status != results::RunStatus::kDone || run.baseline.empty() || out.count(run.baseline)) continue;
    Entry entry;
    entry.first_run = run.description.hash;
    for (const auto& m : reader.eval_summary(run.description.hash)) entry.eval.metrics.emplace_back(m.name, m.before);
    for (auto& item : reader.items(run.description.hash))
      if (item.phase == "before") entry.eval.items.push_back(std::move(item));
    out.emplace(run.baseline, std::move(entry));
  }
  return out;
}

BaselineMemo& BaselineMemo::process() {
  static BaselineMemo memo;
  return memo;
}

std::optional<BaselineMemo::Entry> BaselineMemo::find(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  return found->second;
}

void BaselineMemo::remember(const std::string& key, const PhaseEval& eval, const std::string& run) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.emplace(key, Entry{eval, run});
}

nlohmann::json BaselineMemo::to_json(const std::map<std::string, Entry>& entries) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, entry] : entries) {
    nlohmann::json metrics = nlohmann::json::array(), items = nlohmann::json::array();
    for (const auto& [name, value] : entry.eval.metrics) metrics.push_back({name, number(value)});
    for (const auto& i : entry.eval.items) {
      nlohmann::json loglik = nlohmann::json::array();
      for (const double v : i.choice_loglik) loglik.push_back(number(v));
      items.push_back({i.phase, i.id, i.prediction, i.gold, i.correct, loglik});
    }
    out[key] = {{"run", entry.first_run}, {"metrics", metrics}, {"items", items}};
  }
  return out;
}

void BaselineMemo::seed(const nlohmann::json& entries) {
  for (const auto& [key, j] : entries.items()) {
    Entry entry;
    entry.first_run = j.at("run").get<std::string>();
    for (const auto& m : j.at("metrics")) entry.eval.metrics.emplace_back(m.at(0).get<std::string>(), number(m.at(1)));
    for (const auto& i : j.at("items")) {
      results::EvalItem item;
      item.phase = i.at(0).get<std::string>();
      item.id = i.at(1).get<std::string>();
      item.prediction = i.at(2).get<std::string>();
      item.gold = i.at(3).get<std::string>();
      item.correct = i.at(4).get<bool>();
      for (const auto& v : i.at(5)) item.choice_loglik.push_back(number(v));
      entry.eval.items.push_back(std::move(item));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.emplace(key, std::move(entry));
  }
}

}  // namespace statetune::orchestrator
