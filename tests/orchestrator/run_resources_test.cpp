// What a study's runs share in one process (orchestrator/run_resources.h): the model, the
// vocabulary and the tokenized data are read once while their files are unchanged, and a run's
// report says where its time went.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/tiny_inputs.h"
#include "statetune/orchestrator/run_executor.h"
#include "statetune/orchestrator/run_resources.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/communicator.h"
#include "statetune/workers/init_model.h"
#include "run/run_times.h"
#include "study/sweep_messages.h"
#include "test_paths.h"
#include "workers/small_config.h"

namespace {

namespace orch = statetune::orchestrator;
namespace sweeps = statetune::sweeps;

// A tiny model, a byte vocabulary and a JSONL training file in a fresh folder.
sweeps::RunSpec tiny_run(const std::string& name) {
  const std::string dir = statetune::testing::temp_dir(name);
  statetune::workers::save_checkpoint(dir + "/m.pth", statetune::workers::init_random_model(
                                                          statetune::testing::small_config(2, 300), 1));
  statetune::testing::write_byte_vocab(dir + "/vocab.txt");
  statetune::testing::write_plus_one_examples(dir + "/train.jsonl", 6);
  sweeps::RunSpec spec;
  spec.model = dir + "/m.pth";
  spec.vocab = dir + "/vocab.txt";
  spec.output = dir + "/state.pth";
  spec.data.benchmark = sweeps::Benchmark::kJsonl;
  spec.data.train = dir + "/train.jsonl";
  spec.data.eval = dir + "/train.jsonl";
  spec.steps = 2;
  spec.batch = 2;
  spec.max_tokens = 64;
  return spec;
}

void touch(const std::string& path) {
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(5));
}

TEST(RunResources, AModelIsLoadedOncePerPlacementAndAgainWhenItsFileChanges) {
  const sweeps::RunSpec spec = tiny_run("resources_model");
  std::vector<std::string> notes;
  const auto note = [&](const std::string& line) { notes.push_back(line); };
  const orch::Placement cpu;
  const auto first = orch::shared_model(spec.model, cpu, "model", note);
  const auto second = orch::shared_model(spec.model, cpu, "model", note);
  EXPECT_EQ(first.get(), second.get());
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_NE(notes[0].find("(cached for the next runs)"), std::string::npos) << notes[0];
  EXPECT_NE(notes[1].find("reused from an earlier run"), std::string::npos) << notes[1];
  // Another precision is another entry, named by its own path spelling too.
  orch::Placement f64;
  f64.weights_dtype = at::kDouble;
  const std::string same_file = std::filesystem::path(spec.model).parent_path().string() + "/./m.pth";
  const auto doubles = orch::shared_model(same_file, f64, "guide", note);
  EXPECT_EQ(orch::shared_model(same_file, f64, "guide", note).get(), doubles.get());
  EXPECT_NE(doubles.get(), first.get());
  EXPECT_EQ(doubles->dtype(), at::kDouble);
  touch(spec.model);
  EXPECT_NE(orch::shared_model(spec.model, cpu, "model", note).get(), first.get());
}

TEST(RunResources, TokenizedDataIsSharedBetweenRunsThatReadItAlike) {
  sweeps::RunSpec spec = tiny_run("resources_data");
  const auto tok = orch::shared_tokenizer(spec.vocab);
  EXPECT_EQ(orch::shared_tokenizer(spec.vocab).get(), tok.get());
  const auto first = orch::shared_run_examples(spec, *tok);
  EXPECT_EQ(first->train.size(), 6u);
  // What the examples do not depend on (the method, lr, a JSONL run's seed) shares them.
  sweeps::RunSpec other = spec;
  other.method = sweeps::Method::kKernel;
  other.lr = 0.5;
  other.seed = 7;
  EXPECT_EQ(orch::shared_run_examples(other, *tok).get(), first.get());
  // What they depend on does not.
  other.max_tokens = 8;
  const auto shorter = orch::shared_run_examples(other, *tok);
  EXPECT_NE(shorter.get(), first.get());
  EXPECT_LE(shorter->train[0].tokens.size(), 8u);
  other = spec;
  other.data.train_limit = 2;
  EXPECT_EQ(orch::shared_run_examples(other, *tok)->train.size(), 2u);
  // A rewritten data file, or vocabulary, is read again.
  std::ofstream(spec.data.train, std::ios::app) << R"({"context": "Q9: 9 plus one?", "target": " 10"})" << "\n";
  const auto longer = orch::shared_run_examples(spec, *tok);
  EXPECT_EQ(longer->train.size(), 7u);
  touch(spec.vocab);
  const auto tok2 = orch::shared_tokenizer(spec.vocab);
  EXPECT_NE(tok2.get(), tok.get());
  EXPECT_NE(orch::shared_run_examples(spec, *tok2).get(), longer.get());
}

TEST(RunResources, AFewShotSeedMattersOnlyWithFewShotExamples) {
  sweeps::RunSpec spec = tiny_run("resources_benchmark");
  std::ofstream arc(spec.data.train);  // ARC records in place of the JSONL examples; the few-shot pool is the file itself
  for (int i = 0; i < 6; ++i) arc << statetune::testing::arc_line(i) << "\n";
  arc.close();
  spec.data.benchmark = sweeps::Benchmark::kArcChallenge;
  spec.data.eval = "";
  const auto tok = orch::shared_tokenizer(spec.vocab);
  sweeps::RunSpec seeded = spec;
  seeded.data.fewshot_seed = 3;
  const auto zero_shot = orch::shared_run_examples(spec, *tok);
  EXPECT_EQ(orch::shared_run_examples(seeded, *tok).get(), zero_shot.get());
  spec.data.num_fewshot = seeded.data.num_fewshot = 1;
  const auto one_shot = orch::shared_run_examples(spec, *tok);
  EXPECT_NE(one_shot.get(), zero_shot.get());
  EXPECT_NE(orch::shared_run_examples(seeded, *tok).get(), one_shot.get());
  EXPECT_EQ(orch::shared_run_examples(spec, *tok).get(), one_shot.get());
  // The training seed does not draw the shots (lm-eval's draw is its own).
  sweeps::RunSpec trained_otherwise = spec;
  trained_otherwise.seed = 7;
  EXPECT_EQ(orch::shared_run_examples(trained_otherwise, *tok).get(), one_shot.get());
}

TEST(RunResources, ARunReportsWhereItsTimeWentAndTheSecondRunReusesTheModel) {
  const sweeps::RunSpec spec = tiny_run("resources_run");
  statetune::workers::LocalCommunicator group;
  std::vector<std::string> notes;
  orch::RunControl control;
  control.note = [&](const std::string& line) { notes.push_back(line); };
  const orch::RunTimes before = orch::process_times().sums;
  const orch::RunReport first = orch::execute_run(spec, group, control);
  ASSERT_EQ(first.status, statetune::results::RunStatus::kDone) << first.message;
  const orch::RunTimes& t = first.times;
  for (double s : {t.load, t.calibration, t.eval_before, t.steps, t.save, t.eval_after}) EXPECT_GT(s, 0);
  EXPECT_EQ(t.guide_text, 0);
  EXPECT_EQ(t.questions, 0);
  EXPECT_LE(t.load + t.calibration + t.eval_before + t.steps + t.save + t.eval_after, first.seconds);
  EXPECT_NEAR(orch::process_times().sums.steps - before.steps, t.steps, 1e-9);

  sweeps::RunSpec second = spec;
  second.seed = 1;
  ASSERT_EQ(orch::execute_run(second, group, control).status, statetune::results::RunStatus::kDone);
  size_t loaded = 0, reused = 0;
  for (const std::string& line : notes) {
    loaded += line.find("model " + spec.model) != std::string::npos && line.find("loaded in") != std::string::npos;
    reused += line.find("model " + spec.model) != std::string::npos && line.find("reused") != std::string::npos;
  }
  EXPECT_EQ(loaded, 1u);
  EXPECT_EQ(reused, 1u);
}

TEST(RunResources, ARunsTimesTravelFromAGroupLeaderToRankZero) {
  orch::RunReport r;
  r.times = {1.5, 0.25, 2, 3, 4, 0.125, 5, 6};
  const orch::RunReport back = orch::report_from_json(orch::to_json(r));
  EXPECT_EQ(back.times.load, 1.5);
  EXPECT_EQ(back.times.guide_text, 0.25);
  EXPECT_EQ(back.times.calibration, 2);
  EXPECT_EQ(back.times.eval_before, 3);
  EXPECT_EQ(back.times.steps, 4);
  EXPECT_EQ(back.times.save, 0.125);
  EXPECT_EQ(back.times.eval_after, 5);
  EXPECT_EQ(back.times.questions, 6);
}

}  // namespace
