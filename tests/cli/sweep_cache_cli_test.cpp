// End-to-end: the runs of a sweep on one rank share the model, vocabulary and data they read
// (orchestrator/run_resources.h), and the study ends with where its time went.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <fmt/format.h>

#include "cli_runner.h"
#include "tiny_inputs.h"

namespace {

using statetune::testing::run_statetune;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class SweepCacheCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("sweep_cache_cli");
    statetune::testing::write_byte_vocab(dir_ + "/vocab.txt");
    statetune::testing::write_plus_one_examples(dir_ + "/train.jsonl", 6);
    ASSERT_EQ(run_statetune(statetune::testing::tiny_model_args(dir_ + "/m.pth")).code, 0);
    // Three runs on the same model and data: three seeds.
    std::ofstream(dir_ + "/three.yaml") << "base:\n  model: m.pth\n  vocab: vocab.txt\n  output: three/{hash}.pth\n"
                                        << "  steps: 2\n  batch: 2\n  lr: 0.1\n"
                                        << "  data:\n    benchmark: jsonl\n    train: train.jsonl\n    eval: train.jsonl\n"
                                        << "grid:\n  seed: [0, 1, 2]\n";
  }
  static std::string dir_;
};
std::string SweepCacheCli::dir_;

TEST_F(SweepCacheCli, ThreeRunsOnOneModelLoadItOnceAndTheStudyPrintsItsTimeSplit) {
  const auto r = run_statetune(fmt::format("sweep {0}/three.yaml --out {0}/three.h5", dir_));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "(cached for the next runs)"), 1u) << r.output;
  EXPECT_EQ(count(r.output, "reused from an earlier run of this process"), 2u) << r.output;
  EXPECT_NE(r.output.find("cache: models 1 read, 2 reused; vocabularies 1 read, 2 reused; data sets 1 read, 2 reused; "
                          "0 dropped"),
            std::string::npos)
      << r.output;
  // One line, each phase with its seconds and share of the wall time.
  const size_t split = r.output.find("time split over 3 run(s), 1 group(s) x ");
  ASSERT_NE(split, std::string::npos) << r.output;
  const std::string line = r.output.substr(split, r.output.find('\n', split) - split);
  for (const char* phase : {"load ", "calibration ", "eval before ", "steps ", "save ", "eval after ", "results file ",
                            "other "})
    EXPECT_NE(line.find(phase), std::string::npos) << phase << " missing in: " << line;
  EXPECT_EQ(line.find("tts questions"), std::string::npos) << line;
}

TEST_F(SweepCacheCli, ACapOfZeroReadsTheModelForEveryRunAndSaysWhatItDropped) {
  const auto r = statetune::testing::run_command(
      fmt::format("STATETUNE_CACHE_MAX_MB=0 {0} sweep {1}/three.yaml --out {1}/nocache.h5 output={1}/nocache/{{hash}}.pth",
                  statetune::testing::statetune_binary(), dir_));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(count(r.output, "(cached for the next runs)"), 3u) << r.output;
  EXPECT_EQ(count(r.output, "reused from an earlier run"), 0u) << r.output;
  // After each run: its model, vocabulary and data, each with its size.
  EXPECT_EQ(count(r.output, "cache: dropped model "), 3u) << r.output;
  EXPECT_EQ(count(r.output, "over the cache's 0 MiB"), 9u) << r.output;
  EXPECT_NE(r.output.find("cache: models 3 read, 0 reused"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("9 dropped to stay under 0 MiB per process"), std::string::npos) << r.output;
}

}  // namespace
