// End-to-end: the statetune binary as a user runs it — init-model, score, generate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "statetune/common/npy.h"
#include "test_paths.h"

namespace {

using statetune::testing::CommandResult;
using statetune::testing::run_statetune;

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = statetune::testing::temp_dir("cli");
    CommandResult r =
        run_statetune("init-model --layers 2 --dim 64 --head-size 16 --vocab 300 --seed 3 --out " + dir_ + "/m.pth");
    ASSERT_EQ(r.code, 0) << r.output;
  }
  static std::string dir_;
};
std::string Cli::dir_;

TEST_F(Cli, ScoreTokensPrintsLogprobsNllAndPerplexityConsistently) {
  CommandResult r = run_statetune(
      "score --model " + dir_ + "/m.pth --tokens 0,5,17,42,7 --json --threads 1 --logits-out " + dir_ + "/logits.npy");
  ASSERT_EQ(r.code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  ASSERT_EQ(j["tokens"].size(), 5u);
  EXPECT_TRUE(j["tokens"][0]["logprob"].is_null());
  double sum = 0;
  for (int t = 1; t < 5; ++t) sum -= j["tokens"][t]["logprob"].get<double>();
  EXPECT_NEAR(j["total_nll"].get<double>(), sum, 1e-9);
  EXPECT_NEAR(j["perplexity"].get<double>(), std::exp(sum / 4), 1e-6);
  // The .npy logits reproduce the printed log-probabilities: row t-1 scores token t.
  statetune::NpyArray logits = statetune::read_npy(dir_ + "/logits.npy");
  ASSERT_EQ(logits.shape, (std::vector<int64_t>{5, 300}));
  const int ids[] = {0, 5, 17, 42, 7};
  for (int t = 1; t < 5; ++t) {
    double mx = -1e300, z = 0;
    for (int v = 0; v < 300; ++v) mx = std::max(mx, logits.values[(t - 1) * 300 + v]);
    for (int v = 0; v < 300; ++v) z += std::exp(logits.values[(t - 1) * 300 + v] - mx);
    const double lp = logits.values[(t - 1) * 300 + ids[t]] - mx - std::log(z);
    EXPECT_NEAR(lp, j["tokens"][t]["logprob"].get<double>(), 1e-4) << "t=" << t;
  }
}

TEST_F(Cli, ScoreAndGenerateWithTheRealVocab) {
  SHARED_OR_SKIP(vocab, "data/tokenizer/rwkv_vocab_v20230424.txt");
  // A model whose vocabulary covers the World tokenizer.
  CommandResult init =
      run_statetune("init-model --layers 1 --dim 32 --head-size 16 --vocab 65536 --seed 1 --out " + dir_ + "/w.pth");
  ASSERT_EQ(init.code, 0) << init.output;
  CommandResult score = run_statetune("score --model " + dir_ + "/w.pth --vocab " + vocab + " --text 'Hello world'");
  ASSERT_EQ(score.code, 0) << score.output;
  EXPECT_NE(score.output.find("Hello"), std::string::npos) << score.output;
  EXPECT_NE(score.output.find("perplexity:"), std::string::npos);
  CommandResult a = run_statetune("generate --model " + dir_ + "/w.pth --vocab " + vocab +
                                  " --prompt 'Once' --max-tokens 8 --seed 5");
  CommandResult b = run_statetune("generate --model " + dir_ + "/w.pth --vocab " + vocab +
                                  " --prompt 'Once' --max-tokens 8 --seed 5");
  ASSERT_EQ(a.code, 0) << a.output;
  EXPECT_EQ(a.output, b.output) << "generation with a fixed seed must be deterministic";
  EXPECT_EQ(a.output.rfind("Once", 0), 0u) << a.output;
  CommandResult tok = run_statetune("tokenize --vocab " + vocab + " --text 'Hello world' --json");
  ASSERT_EQ(tok.code, 0) << tok.output;
  EXPECT_EQ(nlohmann::json::parse(tok.output)["ids"].size(), 2u) << tok.output;
}

TEST_F(Cli, DemoTunesEveryMethodAndWritesStatesThatScoreUses) {
  CommandResult demo = run_statetune("demo --threads 2 --steps 20 --out " + dir_ + "/demo");
  ASSERT_EQ(demo.code, 0) << demo.output;
  EXPECT_NE(demo.output.find("random"), std::string::npos) << "the demo must say its weights are random";
  for (const char* row : {"standard ", "standard+shift", "kernel M=32", "kernel M=64", "dbp M=64 lambda=1 ",
                          "dbp M=64 lambda=10", "full prefix state"})
    EXPECT_NE(demo.output.find(row), std::string::npos) << "the table lacks the row '" << row << "'\n" << demo.output;
  // The dbp state carries a kernel read-out: `score --state` must apply it.
  const std::string model = dir_ + "/demo/demo-model.pth", state = dir_ + "/demo/demo-state-dbp-lambda1.pth";
  CommandResult plain = run_statetune("score --model " + model + " --tokens 0,5,6,7,8 --json");
  CommandResult tuned = run_statetune("score --model " + model + " --tokens 0,5,6,7,8 --json --state " + state);
  ASSERT_EQ(plain.code, 0) << plain.output;
  ASSERT_EQ(tuned.code, 0) << tuned.output;
  const double a = nlohmann::json::parse(plain.output)["total_nll"].get<double>();
  const double b = nlohmann::json::parse(tuned.output)["total_nll"].get<double>();
  EXPECT_GT(std::abs(a - b), 1e-3) << "the state file must change the scores";
  // A file without time_state keys is refused with its name.
  CommandResult bad = run_statetune("score --model " + model + " --tokens 0,1,2,3 --state " + dir_ + "/m.pth");
  EXPECT_EQ(bad.code, 1) << bad.output;
  EXPECT_NE(bad.output.find("m.pth"), std::string::npos) << bad.output;
}

TEST_F(Cli, BadInputsAreOneLineErrorsNamingTheFile) {
  std::ofstream(dir_ + "/junk.pth") << "this is not a checkpoint";
  CommandResult r = run_statetune("score --model " + dir_ + "/junk.pth --tokens 0,1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("junk.pth"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  CommandResult t = run_statetune("score --model " + dir_ + "/m.pth --tokens 0,x,2");
  EXPECT_EQ(t.code, 1);
  EXPECT_NE(t.output.find("'x'"), std::string::npos) << t.output;
  CommandResult v = run_statetune("score --model " + dir_ + "/m.pth --tokens 0,400");
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.output.find("400"), std::string::npos) << v.output;
  CommandResult none = run_statetune("score --model " + dir_ + "/m.pth");
  EXPECT_NE(none.code, 0);
}

// Options that count something take whole numbers >= 1, and say so when given anything else.
TEST_F(Cli, CountOptionsRejectZeroFractionsAndTextByName) {
  for (const char* value : {"0", "-2", "1.5", "abc", "3x"}) {
    CommandResult r = run_statetune(std::string("bench kernels --quick --repeats ") + value);
    EXPECT_NE(r.code, 0) << value;
    EXPECT_NE(r.output.find(std::string("--repeats: expected a whole number >= 1, got '") + value + "'"),
              std::string::npos)
        << r.output;
  }
  CommandResult threads = run_statetune("score --model " + dir_ + "/m.pth --tokens 0,1 --threads 0");
  EXPECT_NE(threads.code, 0);
  EXPECT_NE(threads.output.find("--threads: expected a whole number >= 1, got '0'"), std::string::npos)
      << threads.output;
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"demo", "init-model", "tokenize", "score", "generate", "bench model", "bench tokenizer"}) {
    CommandResult r = run_statetune(std::string(sub) + " --help");
    EXPECT_EQ(r.code, 0) << sub << ": " << r.output;
    EXPECT_NE(r.output.find("--"), std::string::npos) << sub;
  }
  CommandResult r = run_statetune("score --help");
  EXPECT_NE(r.output.find("--threads"), std::string::npos);
}

// A misspelt command is named, with the closest one; an unknown word with the list.
TEST_F(Cli, AnUnknownCommandIsNamedWithTheClosestOne) {
  const CommandResult r = run_statetune("tunee x.yaml");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("statetune: error: unknown command 'tunee' (did you mean 'statetune tune'?)"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("A subcommand is required"), std::string::npos) << r.output;
  const CommandResult nested = run_statetune("bench modle");
  EXPECT_EQ(nested.code, 2) << nested.output;
  EXPECT_NE(nested.output.find("unknown command 'modle' (did you mean 'statetune bench model'?)"), std::string::npos)
      << nested.output;
  const CommandResult far = run_statetune("frobnicate");
  EXPECT_EQ(far.code, 2) << far.output;
  EXPECT_NE(far.output.find("unknown command 'frobnicate'; the commands of statetune: demo, tune, sweep"),
            std::string::npos)
      << far.output;
  EXPECT_EQ(run_statetune("--version").code, 0);
  EXPECT_EQ(run_statetune("tune --help").code, 0);
}

}  // namespace
