#include "run/fetched_inputs.h"

#include <filesystem>
#include <set>

#include "statetune/common/error.h"
#include "statetune/common/suggestion.h"
#include "statetune/fetch/cache.h"
#include "statetune/fetch/catalog.h"
#include "statetune/sweeps/resource_name.h"

namespace statetune::orchestrator {

namespace {

// A model or vocabulary name -> its cached file; an unknown name is told apart from one not
// yet fetched (which says what to run).
std::string cached_file(const std::string& name) {
  if (!fetch::is_known_name(name)) {
    std::vector<std::string> names;
    for (const fetch::Entry& entry : fetch::active_catalog().entries)
      if (entry.kind != fetch::Kind::kBenchmark) names.push_back(entry.name);
    fail("{}: no such file, and no model or vocabulary of that name in the catalogue{} (statetune fetch --list)",
         name, did_you_mean(name, names));
  }
  return fetch::fetched_file(name);
}

void resolve_name(std::string& value) {
  if (sweeps::is_resource_name(value)) value = cached_file(value);
}

}  // namespace

sweeps::RunSpec with_fetched_inputs(const sweeps::RunSpec& spec) {
  sweeps::RunSpec out = spec;
  resolve_name(out.model);
  resolve_name(out.vocab);
  resolve_name(out.guide);
  sweeps::DataSpec& d = out.data;
  // A named benchmark given no training file is the fetched benchmark, splits as
  // lm-evaluation-harness uses them; paths given beside it still win.
  if (d.benchmark != sweeps::Benchmark::kJsonl && d.train.empty()) {
    const fetch::BenchmarkFiles files = fetch::fetched_benchmark(sweeps::to_string(d.benchmark));
    d.train = files.train;
    if (d.eval.empty()) d.eval = files.eval;
    if (d.fewshot.empty()) d.fewshot = files.fewshot;
  }
  return out;
}

std::string fetched_or_path(const std::string& value) {
  if (!sweeps::looks_like_resource_name(value) || std::filesystem::exists(value)) return value;
  return cached_file(value);
}

void check_fetched_inputs(const sweeps::Sweep& sweep) {
  std::set<std::string> checked;  // thousands of runs name the same few things
  for (const auto& run : sweep.runs) {
    const sweeps::RunSpec& s = run.spec;
    const bool fetched_data = s.data.benchmark != sweeps::Benchmark::kJsonl && s.data.train.empty();
    std::string names;
    for (const std::string* value : {&s.model, &s.vocab, &s.guide})
      if (sweeps::is_resource_name(*value)) names += *value + "|";
    if (fetched_data) names += std::string(sweeps::to_string(s.data.benchmark));
    if (names.empty() || !checked.insert(names).second) continue;
    try {
      with_fetched_inputs(s);
    } catch (const Error& e) {
      fail("run {}: {}", run.hash, e.what());
    }
  }
}

}  // namespace statetune::orchestrator
