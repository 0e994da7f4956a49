// k-shot prompts byte for byte as lm-evaluation-harness v0.4.9 builds them. The expected strings
// were made by lm-eval's own code (tests/data/lm_eval_oracle/make_fewshot_prompts.py, see the
// README there) from the same shared files; here statetune's data layer renders the same items
// (the whole 100-item stream, so every earlier item's draw counts) and must give the same bytes.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "statetune/data/benchmark.h"
#include "test_paths.h"

namespace {

using namespace statetune::data;
using nlohmann::json;

std::string oracle_dir() { return std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/tests/data/lm_eval_oracle/"; }

json load_oracle(const std::string& name) {
  std::ifstream in(oracle_dir() + name);
  EXPECT_TRUE(in) << oracle_dir() + name << " is missing (tests/data/lm_eval_oracle is part of the checkout)";
  if (!in) return json::object();
  json j = json::parse(in);
  EXPECT_EQ(j.value("lm_eval", ""), "0.4.9");
  EXPECT_EQ(j.value("fewshot_seed", 0), 1234);
  return j;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// One multiple-choice item against lm-eval's requests: one (context, continuation) per choice.
void expect_mc(const McRequest& r, const json& want) {
  const json& continuations = want.at("continuations");
  ASSERT_EQ(r.num_choices(), continuations.size()) << r.id;
  for (size_t c = 0; c < continuations.size(); ++c) {
    const std::string context = want.contains("context") ? want.at("context").get<std::string>()
                                                         : want.at("contexts").at(c).get<std::string>();
    EXPECT_EQ(r.context(c), context) << r.id << " choice " << c;
    EXPECT_EQ(r.continuation(c), continuations.at(c).get<std::string>()) << r.id << " choice " << c;
  }
}

// A JSONL case (ARC, WinoGrande, GSM8K): the subset's eval.jsonl scored, its train.jsonl (or
// the given pool) drawn from with lm-eval's default seed.
void check_jsonl_case(Benchmark benchmark, const std::string& folder, const std::string& file,
                      const std::string& pool_path = "") {
  SHARED_OR_SKIP(eval, "data/benchmarks/" + folder + "/eval.jsonl");
  const json oracle = load_oracle(file);
  ASSERT_TRUE(oracle.contains("items"));
  BenchmarkOptions options;
  options.num_fewshot = oracle.at("num_fewshot").get<int>();
  options.fewshot_path = pool_path;
  const RenderedBenchmark b = load_benchmark(benchmark, eval, options);
  ASSERT_EQ(b.size(), oracle.at("eval_size").get<size_t>());
  for (const json& item : oracle.at("items")) {
    const auto doc = item.at("doc_id").get<size_t>();
    SCOPED_TRACE(file + " doc " + std::to_string(doc));
    if (is_generation(benchmark)) {
      EXPECT_EQ(b.gen.at(doc).prompt, item.at("context").get<std::string>());
      EXPECT_EQ(b.gen.at(doc).stop, item.at("until").get<std::vector<std::string>>());
    } else {
      expect_mc(b.mc.at(doc), item);
    }
  }
}

TEST(LmEvalOracle, ArcChallenge25ShotPoolBranch) {  // 25 of 200 train items: random.sample's pool branch
  check_jsonl_case(Benchmark::arc_challenge, "arc_challenge", "arc_challenge_25shot.json");
}

TEST(LmEvalOracle, ArcChallenge25ShotSetBranchFrom300) {  // 25 of 300 (> setsize 277): the set branch
  SHARED_OR_SKIP(train, "data/benchmarks/arc_challenge/train.jsonl");
  SHARED_OR_SKIP(eval, "data/benchmarks/arc_challenge/eval.jsonl");
  // The oracle's pool: train.jsonl then eval.jsonl, so eval items can draw themselves; lm-eval
  // then drops them (x != doc) and renders fewer shots.
  const std::string pool = statetune::testing::temp_dir("oracle_pool300") + "/pool300.jsonl";
  std::string text = slurp(train);
  if (!text.empty() && text.back() != '\n') text += '\n';
  std::ofstream(pool, std::ios::binary) << text << slurp(eval);
  check_jsonl_case(Benchmark::arc_challenge, "arc_challenge", "arc_challenge_25shot_pool300.json", pool);
}

TEST(LmEvalOracle, ArcChallenge5Shot) {
  check_jsonl_case(Benchmark::arc_challenge, "arc_challenge", "arc_challenge_5shot.json");
}

TEST(LmEvalOracle, Gsm8k5Shot) { check_jsonl_case(Benchmark::gsm8k, "gsm8k", "gsm8k_5shot.json"); }

TEST(LmEvalOracle, Winogrande5Shot) {  // draws 6 (fewshot_split None == test_split None), keeps 5
  check_jsonl_case(Benchmark::winogrande, "winogrande", "winogrande_5shot.json");
}

TEST(LmEvalOracle, Winogrande1Shot) { check_jsonl_case(Benchmark::winogrande, "winogrande", "winogrande_1shot.json"); }

// MMLU: each subject's first k dev items (first_n); items are "<subject>/<index>".
void check_mmlu(const std::string& file) {
  SHARED_OR_SKIP(eval, "data/benchmarks/mmlu/eval");
  const json oracle = load_oracle(file);
  ASSERT_TRUE(oracle.contains("subjects"));
  BenchmarkOptions options;
  options.num_fewshot = oracle.at("num_fewshot").get<int>();
  const RenderedBenchmark b = load_benchmark(Benchmark::mmlu, eval, options);
  size_t checked = 0;
  for (const json& subject : oracle.at("subjects")) {
    for (const json& item : subject.at("items")) {
      const std::string id = subject.at("subject").get<std::string>() + "/" + std::to_string(item.at("doc_id").get<int>());
      SCOPED_TRACE(file + " " + id);
      const McRequest* found = nullptr;
      for (const McRequest& r : b.mc)
        if (r.id == id) found = &r;
      ASSERT_NE(found, nullptr) << id << " not rendered";
      expect_mc(*found, item);
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u);
}

TEST(LmEvalOracle, Mmlu5ShotFirstN) { check_mmlu("mmlu_5shot.json"); }

TEST(LmEvalOracle, Mmlu0ShotEverySubjectsDescription) { check_mmlu("mmlu_0shot.json"); }

}  // namespace
