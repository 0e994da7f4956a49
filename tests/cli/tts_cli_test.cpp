// End-to-end: method tts (test-time scaling per question, METHOD.md §4) through `statetune tune`
// and `statetune sweep`, on a tiny random model with a byte vocabulary and ARC-format items:
// the guide a model, the model itself after a prefix, or a trace file from `guide-traces`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli_runner.h"
#include "tiny_inputs.h"
#include "statetune/results/study_reader.h"

namespace {

using statetune::testing::arc_line;

using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

class TtsCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("tts_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    std::ofstream arc(dir_ + "/arc.jsonl");
    for (int i = 0; i < 5; ++i) arc << arc_line(i) << "\n";
    arc.close();
    ASSERT_EQ(run_statetune(statetune::testing::tiny_model_args(dir_ + "/m.pth")).code, 0);
    ASSERT_EQ(run_statetune(fmt::format("init-model --layers 2 --dim 64 --head-size 16 --vocab 300 --seed 2 --out {}/g.pth",
                                        dir_))
                  .code,
              0);
  }
  static std::string config(const std::string& name, const std::string& extra) {
    const std::string path = dir_ + "/" + name + ".yaml";
    std::ofstream(path) << "model: m.pth\nvocab: vocab.txt\noutput: " << name << ".pth\nmethod: tts\ntts_steps: 2\n"
                        << "tts_lr: 0.05\ndata:\n  benchmark: arc_challenge\n  train: arc.jsonl\n  eval: arc.jsonl\n"
                        << extra;
    return path;
  }
  static std::string dir_;
};
std::string TtsCli::dir_;

TEST_F(TtsCli, DistillFromAGuideModelReportsStudentBeforeAfterAndTheGuide) {
  const CommandResult r = run_statetune("tune " + config("distill", "guide: g.pth\ntts_guide_tokens: 6\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tts on 5 questions: acc "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after tuning:  acc "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after tuning:  guide/acc "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after tuning:  tts/guide tokens per question 6.0000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after tuning:  tts/steps per question 2.0000"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("no tuned state (method tts"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/distill.pth")) << "tts keeps no state";
  // Progress in questions, each with its own figures; no trainer step lines (`steps` does not apply).
  for (int k = 1; k <= 5; ++k)
    EXPECT_NE(r.output.find(fmt::format("question {}/5  steps 2  loss ", k)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("  answer "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("step 1/"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("tok/s"), std::string::npos) << r.output;
}

TEST_F(TtsCli, ZeroStepsLeavesTheStudentsAnswersUnchanged) {
  const CommandResult r = run_statetune("tune " + config("zero", "guide: g.pth\ntts_guide_tokens: 4\n") + " tts_steps=0");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("(before 0."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("difference +0.0000)"), std::string::npos) << "no adaptation, same answers\n" << r.output;
  EXPECT_NE(r.output.find("question 1/5  steps 0  answer "), std::string::npos) << "no loss without a step\n" << r.output;
}

TEST_F(TtsCli, ReinforceAndTraceGuidesRunAndReinforceRefusesTraces) {
  const CommandResult rl = run_statetune(
      "tune " + config("reinforce", "guide: g.pth\ntts_mode: reinforce\ntts_samples: 2\ntts_sample_tokens: 3\n"));
  ASSERT_EQ(rl.code, 0) << rl.output;
  EXPECT_NE(rl.output.find("tts on 5 questions"), std::string::npos) << rl.output;
  EXPECT_NE(rl.output.find("question 5/5  steps 2  reward "), std::string::npos) << rl.output;

  const CommandResult traces = run_statetune(fmt::format(
      "guide-traces --guide {0}/g.pth --vocab {0}/vocab.txt --benchmark arc_challenge --data {0}/arc.jsonl "
      "--out {0}/traces.jsonl --max-tokens 5 --top-k 3",
      dir_));
  ASSERT_EQ(traces.code, 0) << traces.output;
  const CommandResult tr = run_statetune("tune " + config("traces", "guide_traces: traces.jsonl\n"));
  ASSERT_EQ(tr.code, 0) << tr.output;
  EXPECT_NE(tr.output.find("tts on 5 questions"), std::string::npos) << tr.output;

  const CommandResult bad =
      run_statetune("tune " + config("bad", "guide: g.pth\nguide_traces: traces.jsonl\ntts_mode: reinforce\n"));
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.output.find("needs a guide model"), std::string::npos) << bad.output;
}

TEST_F(TtsCli, ObserverTunesOnTheGuidesTracesNotTheGoldAnswers) {
  const CommandResult traces = run_statetune(fmt::format(
      "guide-traces --guide {0}/g.pth --vocab {0}/vocab.txt --benchmark arc_challenge --data {0}/arc.jsonl "
      "--out {0}/observer_traces.jsonl --max-tokens 6 --top-k 2",
      dir_));
  ASSERT_EQ(traces.code, 0) << traces.output;
  const std::string path = dir_ + "/observer.yaml";
  std::ofstream(path) << "model: m.pth\nvocab: vocab.txt\noutput: observer.pth\nmethod: standard\ntarget: guide\n"
                      << "guide_traces: observer_traces.jsonl\nsteps: 3\nbatch: 2\nlr: 0.1\n"
                      << "data:\n  benchmark: arc_challenge\n  train: arc.jsonl\n";
  const CommandResult r = run_statetune("tune " + path);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("data: 5 training examples"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/observer.pth"));
  // A trace file missing an item's id is a clear error naming the file and the id.
  std::ofstream(dir_ + "/one_trace.jsonl") << R"({"id": "q0", "text": " B"})" << "\n";
  const CommandResult missing = run_statetune("tune " + path + " guide_traces=" + dir_ + "/one_trace.jsonl");
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.output.find("one_trace.jsonl: no trace for example 'q1'"), std::string::npos) << missing.output;
}

// Observer tuning over the guide's own text: the guide model writes after each training
// question, the KL is over what it wrote; the key is part of the run's config, and a 2-rank
// group (the questions shared out to write) gives the 1-rank curve.
TEST_F(TtsCli, ObserverTunesOverTheTextTheGuideModelWrites) {
  const std::string path = dir_ + "/observer_written.yaml";
  std::ofstream(path) << "model: m.pth\nvocab: vocab.txt\noutput: observer_written.pth\nmethod: standard\n"
                      << "target: guide\nguide: g.pth\nguide_generate_tokens: 5\nsteps: 3\nbatch: 2\nlr: 0.1\n"
                      << "data:\n  benchmark: arc_challenge\n  train: arc.jsonl\n";
  const CommandResult r = run_statetune("tune " + path);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("guide text: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("tokens per training question written by the guide (at most 5, greedy)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("data: 5 training examples"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("guide_generate_tokens: 5\n"), std::string::npos) << "the resolved config\n" << r.output;
  std::ifstream saved(dir_ + "/observer_written.pth.config.yaml");
  const std::string config((std::istreambuf_iterator<char>(saved)), {});
  EXPECT_NE(config.find("guide_generate_tokens: 5\n"), std::string::npos) << config;

  const std::string sweep = dir_ + "/observer_written_sweep.yaml";
  std::ofstream(sweep) << "base:\n  model: m.pth\n  vocab: vocab.txt\n  output: written/{hash}.pth\n  target: guide\n"
                       << "  guide: g.pth\n  guide_prefix: Think.\n  steps: 3\n  batch: 3\n  lr: 0.1\n"
                       << "  data:\n    benchmark: arc_challenge\n    train: arc.jsonl\n"
                       << "grid:\n  guide_generate_tokens: [0, 6]\n";
  ASSERT_EQ(run_statetune(fmt::format("sweep {} --out {}/written_one.h5", sweep, dir_)).code, 0);
  const CommandResult two = statetune::testing::run_command(fmt::format(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 {} sweep {} --out "
      "{}/written_two.h5 --ranks-per-run 2",
      statetune::testing::statetune_binary(), sweep, dir_));
  ASSERT_EQ(two.code, 0) << two.output;
  const auto a = statetune::results::StudyReader::open(dir_ + "/written_one.h5");
  const auto b = statetune::results::StudyReader::open(dir_ + "/written_two.h5");
  ASSERT_EQ(a.hashes().size(), 2u) << "0 and 6 are two runs";
  ASSERT_EQ(a.hashes(), b.hashes());
  std::vector<double> first_losses;
  for (const auto& hash : a.hashes()) {
    const auto ma = a.metrics(hash), mb = b.metrics(hash);
    ASSERT_EQ(ma.size(), 3u);
    ASSERT_EQ(ma.size(), mb.size());
    for (size_t i = 0; i < ma.size(); ++i) EXPECT_NEAR(ma[i].loss, mb[i].loss, 1e-5 * std::abs(ma[i].loss)) << hash;
    first_losses.push_back(ma[0].loss);
  }
  EXPECT_NE(first_losses[0], first_losses[1]) << "the guide's text and the training examples are different losses";
}

TEST_F(TtsCli, ReinforceWithTheModelItselfAfterAPrefixAsTheGuide) {
  const CommandResult r = run_statetune(
      "tune " + config("reinforce_prefix", "guide_prefix: Think step by step.\ntts_mode: reinforce\ntts_samples: 2\n"
                                           "tts_sample_tokens: 3\n"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("tts on 5 questions"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("after tuning:  guide/acc "), std::string::npos) << r.output;
}

TEST_F(TtsCli, ShardedOverTwoRanksInASweepGivesTheOneRankResults) {
  const std::string sweep = dir_ + "/tts_sweep.yaml";
  std::ofstream(sweep) << "base:\n  model: m.pth\n  vocab: vocab.txt\n  output: out/{hash}.pth\n  method: tts\n"
                       << "  guide: g.pth\n  tts_guide_tokens: 4\n  tts_lr: 0.05\n"
                       << "  data:\n    benchmark: arc_challenge\n    train: arc.jsonl\n    eval: arc.jsonl\n"
                       << "grid:\n  tts_steps: [1, 3]\n";
  ASSERT_EQ(run_statetune(fmt::format("sweep {} --out {}/one.h5", sweep, dir_)).code, 0);
  const CommandResult two = statetune::testing::run_command(fmt::format(
      "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun --oversubscribe -np 2 {} sweep {} --out {}/two.h5 "
      "--ranks-per-run 2",
      statetune::testing::statetune_binary(), sweep, dir_));
  ASSERT_EQ(two.code, 0) << two.output;
  const auto a = statetune::results::StudyReader::open(dir_ + "/one.h5");
  const auto b = statetune::results::StudyReader::open(dir_ + "/two.h5");
  ASSERT_EQ(a.hashes(), b.hashes());
  for (const auto& hash : a.hashes()) {
    const auto ia = a.items(hash), ib = b.items(hash);
    ASSERT_EQ(ia.size(), 15u) << "5 questions x before/after/guide";
    ASSERT_EQ(ia.size(), ib.size());
    for (size_t i = 0; i < ia.size(); ++i) {
      EXPECT_EQ(ia[i].phase, ib[i].phase);
      EXPECT_EQ(ia[i].prediction, ib[i].prediction) << hash << " item " << i;
      ASSERT_EQ(ia[i].choice_loglik.size(), ib[i].choice_loglik.size());
      for (size_t c = 0; c < ia[i].choice_loglik.size(); ++c)
        EXPECT_NEAR(ia[i].choice_loglik[c], ib[i].choice_loglik[c], 1e-6) << hash << " item " << i;
    }
  }
}

}  // namespace
