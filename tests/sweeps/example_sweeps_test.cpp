// The example studies in sweeps/examples/ load and expand with the overrides their header
// comments document, to the run counts they state.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/sweeps/sweep.h"

using namespace statetune::sweeps;

namespace {

std::string examples_dir() { return std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/sweeps/examples"; }

Sweep load_example(const std::string& name, const std::vector<std::string>& overrides) {
  return load_sweep_file(examples_dir() + "/" + name, overrides);
}

std::size_t count_method(const Sweep& sweep, Method method) {
  return static_cast<std::size_t>(
      std::count_if(sweep.runs.begin(), sweep.runs.end(), [&](const SweepRun& r) { return r.spec.method == method; }));
}

void expect_unique_hashes(const Sweep& sweep) {
  std::set<std::string> hashes;
  for (const auto& run : sweep.runs) hashes.insert(run.hash);
  EXPECT_EQ(hashes.size(), sweep.runs.size());
}

const std::string kShared = "/../shared/data";  // beside the checkout, as the examples say

}  // namespace

TEST(ExampleSweeps, EveryExampleIsTestedAndSaysHowToRunIt) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(examples_dir())) {
    if (entry.path().extension() != ".yaml") continue;  // states/ of a run, say
    names.insert(entry.path().filename().string());
    const std::string text = statetune::read_file_bytes(entry.path().string());
    EXPECT_EQ(text.rfind("# ", 0), 0u) << entry.path() << ": starts with a header comment";
    EXPECT_NE(text.find("statetune sweep " + ("sweeps/examples/" + entry.path().filename().string())),
              std::string::npos)
        << entry.path() << ": the header shows the sweep command";
  }
  EXPECT_EQ(names, (std::set<std::string>{"smoke.yaml", "ablation_M_gamma_lambda.yaml", "paper_table.yaml"}))
      << "a new example needs its own test here";
}

TEST(ExampleSweeps, SmokeIsThreeMethodsTimesTwoSeedsOfFourSteps) {
  const Sweep sweep =
      load_example("smoke.yaml", {"model=m.pth", "vocab=vocab.txt", "data.train=train.jsonl", "data.eval=eval.jsonl"});
  EXPECT_EQ(sweep.combinations, 6u);
  ASSERT_EQ(sweep.runs.size(), 6u);
  EXPECT_EQ(sweep.axes, (std::vector<std::string>{"method", "seed"}));
  const auto cwd = std::filesystem::current_path();
  for (const auto& run : sweep.runs) {
    EXPECT_EQ(run.spec.steps, 4);
    EXPECT_EQ(run.spec.batch, 2);
    EXPECT_EQ(run.spec.data.benchmark, Benchmark::kJsonl);
    EXPECT_EQ(run.spec.model, (cwd / "m.pth").string());  // overrides are relative to where you run
    EXPECT_EQ(run.spec.data.eval, (cwd / "eval.jsonl").string());
    EXPECT_EQ(run.spec.output, examples_dir() + "/states/" + run.hash + ".pth");
  }
  EXPECT_EQ(count_method(sweep, Method::kDbp), 2u);
  expect_unique_hashes(sweep);
  // Without the inputs, the error names the file and the missing key.
  try {
    load_example("smoke.yaml", {});
    ADD_FAILURE() << "smoke.yaml loaded without its inputs";
  } catch (const statetune::Error& e) {
    EXPECT_NE(std::string(e.what()).find("smoke.yaml:16: missing required key 'data.train'"), std::string::npos)
        << e.what();
  }
}

TEST(ExampleSweeps, AblationCollapsesDbpLambdaForKernel) {
  const Sweep sweep = load_example("ablation_M_gamma_lambda.yaml", {"model=/models/rwkv7-0.1b.pth"});
  EXPECT_EQ(sweep.axes, (std::vector<std::string>{"method", "M", "gamma_scale", "dbp_lambda", "seed"}));
  EXPECT_EQ(sweep.combinations, 2u * 4 * 5 * 5 * 3);
  EXPECT_EQ(count_method(sweep, Method::kKernel), 4u * 5 * 3);
  EXPECT_EQ(count_method(sweep, Method::kDbp), 4u * 5 * 5 * 3);
  EXPECT_EQ(sweep.runs.size(), 360u);
  EXPECT_EQ(sweep.duplicates, 240u);
  expect_unique_hashes(sweep);
  for (const auto& run : sweep.runs) {
    const bool has_lambda = std::any_of(run.axes.begin(), run.axes.end(), [](const auto& a) { return a.first == "dbp_lambda"; });
    EXPECT_EQ(has_lambda, run.spec.method == Method::kDbp);
    EXPECT_EQ(run.spec.data.benchmark, Benchmark::kArcChallenge);
  }
  EXPECT_EQ(std::filesystem::path(sweep.runs[0].spec.data.train).lexically_normal(),
            std::filesystem::path(std::string(STATETUNE_SOURCE_DIR_DEFAULT) + kShared +
                                  "/benchmarks/arc_challenge/train.jsonl")
                .lexically_normal());
}

TEST(ExampleSweeps, PaperTableIsFourMethodsOnFourNamedBenchmarks) {
  const Sweep sweep = load_example("paper_table.yaml", {});
  EXPECT_EQ(sweep.runs.size(), 4u * 4 * 3);
  EXPECT_EQ(sweep.duplicates, 0u);
  expect_unique_hashes(sweep);
  std::map<Benchmark, std::size_t> per_benchmark;
  for (const auto& run : sweep.runs) {
    ++per_benchmark[run.spec.data.benchmark];
    // Names, resolved from the fetch cache when a run starts (tests/cli/paper_table_cli_test.cpp).
    EXPECT_EQ(run.spec.model, "rwkv7-world-1.5b");
    EXPECT_EQ(run.spec.vocab, "rwkv-world-vocab");
    EXPECT_EQ(run.spec.data.train, "");
    EXPECT_EQ(run.spec.data.eval, "");
    const std::string name(to_string(run.spec.data.benchmark));
    const bool five_shot = run.spec.data.benchmark == Benchmark::kMmlu || run.spec.data.benchmark == Benchmark::kGsm8k;
    EXPECT_EQ(run.spec.data.num_fewshot, five_shot ? 5 : 0) << name;
    EXPECT_EQ(run_canonical_text(run.spec).find("guide:") != std::string::npos, run.spec.method == Method::kTts);
  }
  EXPECT_EQ(count_method(sweep, Method::kTts), 12u);
  EXPECT_EQ(per_benchmark, (std::map<Benchmark, std::size_t>{{Benchmark::kArcChallenge, 12},
                                                             {Benchmark::kMmlu, 12},
                                                             {Benchmark::kWinogrande, 12},
                                                             {Benchmark::kGsm8k, 12}}));
  // A local checkpoint still replaces the named one.
  for (const auto& run : load_example("paper_table.yaml", {"model=/models/rwkv7-1.5b.pth"}).runs)
    EXPECT_EQ(run.spec.model, "/models/rwkv7-1.5b.pth");
}

TEST(ExampleSweeps, ExampleDataPathsExistWhereSharedIsPresent) {
  const std::string shared = std::string(STATETUNE_SOURCE_DIR_DEFAULT) + kShared;
  if (!std::filesystem::exists(shared)) GTEST_SKIP() << "SKIPPED LOUDLY: " << shared << " is absent";
  for (const auto& run : load_example("ablation_M_gamma_lambda.yaml", {"model=m.pth"}).runs) {
    EXPECT_TRUE(std::filesystem::exists(run.spec.vocab)) << run.spec.vocab;
    EXPECT_TRUE(std::filesystem::exists(run.spec.data.train)) << run.spec.data.train;
    EXPECT_TRUE(std::filesystem::exists(run.spec.data.eval)) << run.spec.data.eval;
  }
}
