// The canonical form and hash of a run: equal for configs that must give equal results,
// different otherwise.
#include <gtest/gtest.h>

#include "config_files.h"
#include "statetune/common/hash.h"
#include "statetune/sweeps/config_value.h"
#include "statetune/sweeps/run_config.h"

using namespace statetune::sweeps;
using statetune::testing::kMinimalRun;
using statetune::testing::temp_dir;
using statetune::testing::write_text;

namespace {

std::string hash_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  const auto dir = temp_dir("canonical");
  return run_hash(load_run_file(write_text(dir, "run.yaml", text), overrides));
}

std::string minimal_with(const std::string& extra) { return std::string(kMinimalRun) + extra; }

}  // namespace

TEST(Fnv1a64, KnownValues) {
  // Reference values of the FNV-1a 64-bit specification.
  EXPECT_EQ(statetune::fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(statetune::fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(statetune::fnv1a64("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(statetune::hex16(0xabcull), "0000000000000abc");
}

TEST(FormatValue, NumbersAreNormalised) {
  EXPECT_EQ(format_value(Value{1.0}), "1");
  EXPECT_EQ(format_value(Value{1e0}), "1");
  EXPECT_EQ(format_value(Value{0.003}), "0.003");
  EXPECT_EQ(format_value(Value{-0.0}), "0");
  EXPECT_EQ(format_value(Value{0.1 + 0.2}), "0.30000000000000004");  // round-trips exactly
  EXPECT_EQ(format_value(Value{std::int64_t{128}}), "128");
  EXPECT_EQ(format_value(Value{true}), "true");
}

TEST(CanonicalHash, IsSixteenHexDigits) {
  const std::string hash = hash_of(kMinimalRun);
  EXPECT_EQ(hash.size(), 16u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(CanonicalHash, SameForEveryWayOfWritingANumber) {
  const std::string h = hash_of(minimal_with("lr: 1\n"));
  EXPECT_EQ(hash_of(minimal_with("lr: 1.0\n")), h);
  EXPECT_EQ(hash_of(minimal_with("lr: 1e0\n")), h);
  EXPECT_EQ(hash_of(minimal_with("lr: 10e-1\n")), h);
  EXPECT_EQ(hash_of(kMinimalRun), h);  // the default is 1
}

TEST(CanonicalHash, SameForAnyKeyOrder) {
  const std::string a = "model: m.pth\nvocab: v.txt\noutput: out.pth\nlr: 0.5\nsteps: 20\n"
                        "data:\n  benchmark: mmlu\n  train: t.jsonl\n";
  const std::string b = "data:\n  train: t.jsonl\n  benchmark: mmlu\nsteps: 20\nlr: 0.5\n"
                        "output: out.pth\nvocab: v.txt\nmodel: m.pth\n";
  EXPECT_EQ(hash_of(a), hash_of(b));
}

TEST(CanonicalHash, ChangesWithAResultKey) {
  const std::string h = hash_of(kMinimalRun);
  EXPECT_NE(hash_of(minimal_with("lr: 0.5\n")), h);
  EXPECT_NE(hash_of(minimal_with("seed: 1\n")), h);
  EXPECT_NE(hash_of(kMinimalRun, {"data.benchmark=mmlu"}), h);
  EXPECT_NE(hash_of(kMinimalRun, {"model=other.pth"}), h);
}

TEST(CanonicalHash, IgnoresKeysThatCannotChangeResults) {
  const std::string h = hash_of(kMinimalRun);
  EXPECT_EQ(hash_of(kMinimalRun, {"output=elsewhere/state.pth"}), h);
  EXPECT_EQ(hash_of(kMinimalRun, {"checkpoint=c.ckpt", "checkpoint_every=10"}), h);
  EXPECT_EQ(hash_of(kMinimalRun, {"name=my run", "threads=7", "log_every=10"}), h);
}

TEST(CanonicalHash, KeysThatDoNotApplyToTheMethodAreDropped) {
  // M and the kernel keys do not change a standard run; dbp keys do not change a kernel run.
  EXPECT_EQ(hash_of(kMinimalRun, {"M=256", "gamma=3", "lr_kernel=0.1"}), hash_of(kMinimalRun));
  const std::vector<std::string> kernel = {"method=kernel"};
  EXPECT_NE(hash_of(kMinimalRun, {"method=kernel", "M=256"}), hash_of(kMinimalRun, kernel));
  EXPECT_EQ(hash_of(kMinimalRun, {"method=kernel", "dbp_lambda=5", "kappa=0.5"}), hash_of(kMinimalRun, kernel));
  EXPECT_NE(hash_of(kMinimalRun, {"method=dbp", "dbp_lambda=5"}), hash_of(kMinimalRun, {"method=dbp"}));
  // gamma_scale only matters while gamma is unset.
  EXPECT_EQ(hash_of(kMinimalRun, {"method=kernel", "gamma=2", "gamma_scale=3"}),
            hash_of(kMinimalRun, {"method=kernel", "gamma=2"}));
  // final_lr_ratio only matters for the cosine schedule; init_prompt only for init: prompt.
  EXPECT_EQ(hash_of(kMinimalRun, {"schedule=constant", "final_lr_ratio=0.5"}), hash_of(kMinimalRun, {"schedule=constant"}));
  EXPECT_EQ(hash_of(kMinimalRun, {"init_prompt=hello"}), hash_of(kMinimalRun));
}

TEST(CanonicalHash, GuideGeneratedTextIsPartOfTheRunsIdentity) {
  const std::vector<std::string> observer = {"target=guide", "guide_prefix=Think."};
  const std::string plain = hash_of(kMinimalRun, observer);
  auto with = [&](const std::vector<std::string>& more) {
    std::vector<std::string> o = observer;
    o.insert(o.end(), more.begin(), more.end());
    return hash_of(kMinimalRun, o);
  };
  // 0 (the default) is today's behaviour and keeps the hash runs had before the key existed.
  EXPECT_EQ(with({"guide_generate_tokens=0"}), plain);
  EXPECT_NE(with({"guide_generate_tokens=16"}), plain);
  EXPECT_NE(with({"guide_generate_tokens=16"}), with({"guide_generate_tokens=32"}));
  const auto dir = temp_dir("canonical_generate");
  std::vector<std::string> o = observer;
  o.push_back("guide_generate_tokens=16");
  EXPECT_NE(run_canonical_text(load_run_file(write_text(dir, "run.yaml", kMinimalRun), o)).find("guide_generate_tokens: 16\n"),
            std::string::npos);
  // It only acts with target: guide.
  EXPECT_EQ(hash_of(kMinimalRun, {"guide_generate_tokens=16"}), hash_of(kMinimalRun));
}

TEST(CanonicalHash, TtsGuideTokensArePartOfATtsDistillRunsIdentity) {
  const std::vector<std::string> tts = {"method=tts", "guide_prefix=Think.", "data.eval=e.jsonl"};
  std::vector<std::string> longer = tts;
  longer.push_back("tts_guide_tokens=64");
  EXPECT_NE(hash_of(kMinimalRun, longer), hash_of(kMinimalRun, tts));
  // A trace file replaces the guide's writing: then the key changes nothing.
  std::vector<std::string> traces = tts, traces_longer = longer;
  traces.push_back("guide_traces=t.jsonl");
  traces_longer.push_back("guide_traces=t.jsonl");
  EXPECT_EQ(hash_of(kMinimalRun, traces_longer), hash_of(kMinimalRun, traces));
}

TEST(CanonicalHash, CanonicalTextIsSortedAndComplete) {
  const auto dir = temp_dir("canonical_text");
  const RunSpec run = load_run_file(write_text(dir, "run.yaml", kMinimalRun), {"method=dbp"});
  const std::string text = run_canonical_text(run);
  EXPECT_NE(text.find("M: 128\n"), std::string::npos);
  EXPECT_NE(text.find("dbp_lambda: 1\n"), std::string::npos);
  EXPECT_NE(text.find("data.benchmark: arc_challenge\n"), std::string::npos);
  EXPECT_NE(text.find("model: \"" + dir + "/m.pth\"\n"), std::string::npos);
  EXPECT_EQ(text.find("output:"), std::string::npos);
  EXPECT_EQ(text.find("threads:"), std::string::npos);
  EXPECT_EQ(text.find("gamma:"), std::string::npos);  // unset
  EXPECT_LT(text.find("M:"), text.find("accumulation:"));
  EXPECT_EQ(run_hash(run), statetune::hex16(statetune::fnv1a64(text)));
}

TEST(CanonicalHash, StableAcrossReleases) {
  // A run's hash names its results; changing it orphans finished runs. This pins one:
  // change it only with a deliberate, documented schema change.
  RunSpec run;
  run.model = "/m.pth";
  run.vocab = "/v.txt";
  run.output = "/o.pth";
  run.data.benchmark = Benchmark::kArcChallenge;
  run.data.train = "/t.jsonl";
  EXPECT_EQ(run_canonical_text(run),
            "accumulation: 1\nbatch: 4\ndata.benchmark: arc_challenge\ndata.eval: \"\"\ndata.eval_limit: 0\n"
            "data.num_fewshot: 0\ndata.on_error: error\ndata.train: \"/t.jsonl\"\ndata.train_limit: 0\n"
            "final_lr_ratio: 0.01\ninit: zeros\nlr: 1\nmax_grad_norm: 0\nmax_tokens: 1024\nmethod: standard\n"
            "model: \"/m.pth\"\nschedule: cosine\nseed: 0\nshift: fixed\nsteps: 100\ntarget: labels\n"
            "vocab: \"/v.txt\"\nwarmup_steps: 0\n");
}
