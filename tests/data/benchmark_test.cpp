// Loading a benchmark end to end (read, draw shots, render) and the metrics over records.
#include "statetune/data/benchmark.h"

#include <fstream>

#include <gtest/gtest.h>

#include "expect_error.h"
#include "statetune/data/eval_records.h"
#include "test_paths.h"

namespace {

using namespace statetune::data;

TEST(Benchmark, NamesAndDefaults) {
  EXPECT_EQ(parse_benchmark("arc"), Benchmark::arc_challenge);
  EXPECT_STREQ(benchmark_name(parse_benchmark("winogrande")), "winogrande");
  EXPECT_EQ(default_num_fewshot(Benchmark::mmlu), 5);
  EXPECT_EQ(default_num_fewshot(Benchmark::arc_challenge), 0);
  statetune::testing::expect_error([] { parse_benchmark("hellaswag"); },
                                   "unknown benchmark \"hellaswag\": expected arc_challenge, mmlu, winogrande or gsm8k");
}

TEST(Benchmark, MmluFiveShotUsesTheSubjectsDevFilesInFileOrder) {
  SHARED_OR_SKIP(eval, "data/benchmarks/mmlu/eval");
  const RenderedBenchmark b = load_benchmark(Benchmark::mmlu, eval, {});
  EXPECT_EQ(b.num_fewshot, 5);
  ASSERT_EQ(b.mc.size(), 114u);
  EXPECT_NE(b.fewshot_path.find("mmlu/train"), std::string::npos);
  const std::string& context = b.mc[0].contexts[0];  // abstract_algebra/0
  EXPECT_EQ(context.rfind("The following are multiple choice questions (with answers) about abstract algebra.\n\n"
                          "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n"
                          "Statement 1 | If aH is an element of a factor group, then |aH| divides |a|.",
                          0),
            0u);
  const std::string tail =
      "Find the characteristic of the ring 2Z.\nA. 0\nB. 3\nC. 12\nD. 30\nAnswer: A\n\n"
      "Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6\n"
      "Answer:";
  EXPECT_EQ(context.substr(context.size() - tail.size()), tail);
  EXPECT_EQ(b.mc[0].gold, 1);
}

TEST(Benchmark, SameSeedGivesTheSameShotsAndTheDrawIsPerItem) {
  SHARED_OR_SKIP(eval, "data/benchmarks/arc_challenge/eval.jsonl");
  BenchmarkOptions options;
  options.num_fewshot = 3;
  const RenderedBenchmark a = load_benchmark(Benchmark::arc_challenge, eval, options);
  const RenderedBenchmark b = load_benchmark(Benchmark::arc_challenge, eval, options);
  ASSERT_EQ(a.mc.size(), 100u);
  EXPECT_NE(a.fewshot_path.find("train.jsonl"), std::string::npos);
  for (size_t i = 0; i < a.mc.size(); ++i) EXPECT_EQ(a.mc[i].contexts, b.mc[i].contexts);
  EXPECT_NE(a.mc[0].contexts[0].substr(0, 200), a.mc[1].contexts[0].substr(0, 200));  // different draws
  options.fewshot_seed = 99;
  const RenderedBenchmark c = load_benchmark(Benchmark::arc_challenge, eval, options);
  size_t differing = 0;
  for (size_t i = 0; i < a.mc.size(); ++i) differing += a.mc[i].contexts != c.mc[i].contexts;
  EXPECT_GT(differing, 90u);
  // Three shots: three "\n\n" separators before the question.
  const std::string& ctx = a.mc[0].contexts[0];
  size_t separators = 0;
  for (size_t at = ctx.find("\n\n"); at != std::string::npos; at = ctx.find("\n\n", at + 2)) ++separators;
  EXPECT_EQ(separators, 3u);
}

TEST(Benchmark, ScoringTheTrainFileNeverShowsAnItemItself) {
  SHARED_OR_SKIP(train, "data/benchmarks/gsm8k/train.jsonl");
  BenchmarkOptions options;
  options.fewshot_path = train;
  const RenderedBenchmark b = load_benchmark(Benchmark::gsm8k, train, options);
  ASSERT_EQ(b.gen.size(), 200u);
  for (const GenRequest& r : b.gen) {
    const std::string own = r.prompt.substr(r.prompt.rfind("Question: "));
    EXPECT_EQ(r.prompt.find(own), r.prompt.size() - own.size()) << r.id;  // only as the final question
  }
  const std::vector<TrainingExample> examples = training_examples(b);
  ASSERT_EQ(examples.size(), 200u);
  EXPECT_EQ(examples[0].context, b.gen[0].prompt);
  EXPECT_EQ(examples[0].target.rfind(" ", 0), 0u);
}

TEST(Benchmark, SkippedRecordsAreCountedNotGuessed) {
  const std::string dir = statetune::testing::temp_dir("bench_skip");
  std::ofstream(dir + "/eval.jsonl")
      << R"({"qID": "a", "sentence": "X _ y.", "option1": "p", "option2": "q", "answer": "1"})" "\n"
      << R"({"qID": "b", "sentence": "no blank", "option1": "p", "option2": "q", "answer": "1"})" "\n";
  BenchmarkOptions options;
  statetune::testing::expect_error([&] { load_benchmark(Benchmark::winogrande, dir + "/eval.jsonl", options); },
                                   dir + "/eval.jsonl:2: sentence has no \"_\" blank");
  options.read.on_error = OnError::skip;
  const RenderedBenchmark b = load_benchmark(Benchmark::winogrande, dir + "/eval.jsonl", options);
  EXPECT_EQ(b.mc.size(), 1u);
  EXPECT_EQ(b.skipped, 1u);
  options.num_fewshot = 1;  // no train.jsonl beside it
  statetune::testing::expect_error([&] { load_benchmark(Benchmark::winogrande, dir + "/eval.jsonl", options); },
                                   dir + "/train.jsonl: few-shot pool not found");
}

McRequest request(std::vector<double> norm_lengths, int gold, const std::string& subject = "") {
  McRequest r;
  r.id = "x";
  r.subject = subject;
  r.norm_lengths = std::move(norm_lengths);
  r.gold = gold;
  return r;
}

TEST(EvalRecords, AccAndAccNormDifferWhereLengthsDiffer) {
  // Choice 0 is short and likelier in total; choice 1 is long and likelier per character.
  const McRecord r = decide_mc(request({2, 20}, 1), {-4.0, -10.0});
  EXPECT_EQ(r.pred, 0);
  EXPECT_EQ(r.pred_norm, 1);
  EXPECT_FALSE(r.correct);
  EXPECT_TRUE(r.correct_norm);
  // Ties go to the first choice, as numpy's argmax.
  EXPECT_EQ(decide_mc(request({1, 1, 1}, 0), {-1.0, -1.0, -2.0}).pred, 0);
  statetune::testing::expect_error([] { decide_mc(request({1, 1}, 0), {-1.0}); }, "x: 1 log-likelihoods for 2 choices");
}

TEST(EvalRecords, SummaryIsMicroOverallAndPerSubject) {
  std::vector<McRecord> records{decide_mc(request({1, 1}, 0, "law"), {-1, -2}),
                                decide_mc(request({1, 1}, 0, "law"), {-3, -2}),
                                decide_mc(request({1, 1}, 1, "math"), {-3, -2})};
  const McSummary s = summarise(records);
  EXPECT_EQ(s.overall.count, 3u);
  EXPECT_DOUBLE_EQ(s.overall.rate(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.by_subject.at("law").rate(), 0.5);
  EXPECT_DOUBLE_EQ(s.by_subject.at("math").rate(), 1.0);
  const nlohmann::json j = to_json(records[1]);
  EXPECT_EQ(j["loglik"], (std::vector<double>{-3, -2}));
  EXPECT_EQ(j["pred"], 1);
  EXPECT_EQ(j["gold"], 0);
  EXPECT_EQ(j["correct"], false);
  EXPECT_EQ(j["subject"], "law");
}

TEST(EvalRecords, GenerationRecordsScoreBothFilters) {
  GenRequest g;
  g.id = "g";
  g.gold = "1,234";
  const GenRecord r = decide_gen(g, " so $1,234.\n#### 1234", 9);
  EXPECT_EQ(r.strict, "1234");
  EXPECT_TRUE(r.strict_correct);
  EXPECT_TRUE(r.flexible_correct);
  const Accuracy a = summarise(std::vector<GenRecord>{r, decide_gen(g, "1234?", 3)});
  EXPECT_EQ(a.count, 2u);
  EXPECT_EQ(a.correct, 1u);       // strict
  EXPECT_EQ(a.correct_norm, 2u);  // flexible
}

}  // namespace
