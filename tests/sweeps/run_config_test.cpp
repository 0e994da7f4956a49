// Reading a run config: every key, defaults, overrides, relative paths, printed YAML.
#include <gtest/gtest.h>

#include <filesystem>

#include "config_files.h"
#include "statetune/sweeps/resource_name.h"
#include "statetune/sweeps/run_config.h"
#include "statetune/sweeps/run_schema.h"

namespace fs = std::filesystem;
using namespace statetune::sweeps;
using statetune::testing::kMinimalRun;
using statetune::testing::temp_dir;
using statetune::testing::write_text;

namespace {

const char* kFullRun = R"(# every key, none at its default
name: arc-dbp
model: /models/rwkv7.pth
vocab: /models/vocab.txt
output: /out/state.pth
method: dbp
init: prompt
init_prompt: "Question: 2+2?\nAnswer: 4\n"
shift: tune
M: 256
support: random
kmeans_iters: 5
calibration_examples: 32
gamma: 0.5
gamma_scale: 2
linear: false
lr_kernel: 1e-4
dbp_lambda: 0.25
kappa: 0.01
dbp_max_rel_step: 0.2
lr: 0.5
schedule: constant
warmup_steps: 10
final_lr_ratio: 0.1
steps: 200
batch: 8
accumulation: 2
max_grad_norm: 1.5
seed: 7
max_tokens: 512
threads: 3
log_every: 5
checkpoint_every: 50
checkpoint: /out/state.ckpt
target: guide
guide: /models/big.pth
guide_prefix: "Think."
alpha: 0.3
data:
  benchmark: gsm8k
  train: /data/train.jsonl
  eval: /data/test.jsonl
  num_fewshot: 5
  train_limit: 1000
  eval_limit: 200
  on_error: skip
)";

}  // namespace

TEST(RunConfig, ReadsEveryKey) {
  const auto dir = temp_dir("run_full");
  const RunSpec run = load_run_file(write_text(dir, "run.yaml", kFullRun));
  EXPECT_EQ(run.name, "arc-dbp");
  EXPECT_EQ(run.model, "/models/rwkv7.pth");
  EXPECT_EQ(run.vocab, "/models/vocab.txt");
  EXPECT_EQ(run.output, "/out/state.pth");
  EXPECT_EQ(run.method, Method::kDbp);
  EXPECT_EQ(run.init, Init::kPrompt);
  EXPECT_EQ(run.init_prompt, "Question: 2+2?\nAnswer: 4\n");
  EXPECT_EQ(run.shift, Shift::kTune);
  EXPECT_EQ(run.M, 256);
  EXPECT_EQ(run.support, Support::kRandom);
  EXPECT_EQ(run.kmeans_iters, 5);
  EXPECT_EQ(run.calibration_examples, 32);
  ASSERT_TRUE(run.gamma.has_value());
  EXPECT_EQ(*run.gamma, 0.5);
  EXPECT_EQ(run.gamma_scale, 2.0);
  EXPECT_FALSE(run.linear);
  EXPECT_EQ(run.lr_kernel, 1e-4);
  EXPECT_EQ(run.dbp_lambda, 0.25);
  EXPECT_EQ(run.kappa, 0.01);
  EXPECT_EQ(run.dbp_max_rel_step, 0.2);
  EXPECT_EQ(run.lr, 0.5);
  EXPECT_EQ(run.schedule, Schedule::kConstant);
  EXPECT_EQ(run.warmup_steps, 10);
  EXPECT_EQ(run.final_lr_ratio, 0.1);
  EXPECT_EQ(run.steps, 200);
  EXPECT_EQ(run.batch, 8);
  EXPECT_EQ(run.accumulation, 2);
  EXPECT_EQ(run.max_grad_norm, 1.5);
  EXPECT_EQ(run.seed, 7);
  EXPECT_EQ(run.max_tokens, 512);
  EXPECT_EQ(run.threads, 3);
  EXPECT_EQ(run.log_every, 5);
  EXPECT_EQ(run.checkpoint_every, 50);
  EXPECT_EQ(run.checkpoint, "/out/state.ckpt");
  EXPECT_EQ(run.target, Target::kGuide);
  EXPECT_EQ(run.guide, "/models/big.pth");
  EXPECT_EQ(run.guide_prefix, "Think.");
  EXPECT_EQ(run.alpha, 0.3);
  EXPECT_EQ(run.data.benchmark, Benchmark::kGsm8k);
  EXPECT_EQ(run.data.train, "/data/train.jsonl");
  EXPECT_EQ(run.data.eval, "/data/test.jsonl");
  EXPECT_EQ(run.data.num_fewshot, 5);
  EXPECT_EQ(run.data.train_limit, 1000);
  EXPECT_EQ(run.data.eval_limit, 200);
  EXPECT_EQ(run.data.on_error, OnError::kSkip);
}

TEST(RunConfig, DefaultsFillWhatIsNotWritten) {
  const auto dir = temp_dir("run_defaults");
  const RunSpec run = load_run_file(write_text(dir, "run.yaml", kMinimalRun));
  EXPECT_EQ(run.name, "");
  EXPECT_EQ(run.method, Method::kStandard);
  EXPECT_EQ(run.init, Init::kZeros);
  EXPECT_EQ(run.shift, Shift::kFixed);
  EXPECT_EQ(run.M, 128);
  EXPECT_EQ(run.support, Support::kKmeans);
  EXPECT_EQ(run.kmeans_iters, 20);
  EXPECT_EQ(run.calibration_examples, 64);
  EXPECT_FALSE(run.gamma.has_value());
  EXPECT_EQ(run.gamma_scale, 1.0);
  EXPECT_TRUE(run.linear);
  EXPECT_EQ(run.lr_kernel, 0.003);
  EXPECT_EQ(run.dbp_lambda, 1.0);
  EXPECT_EQ(run.kappa, 1e-3);
  EXPECT_EQ(run.dbp_max_rel_step, 0.1);
  EXPECT_EQ(run.lr, 1.0);
  EXPECT_EQ(run.schedule, Schedule::kCosine);
  EXPECT_EQ(run.warmup_steps, 0);
  EXPECT_EQ(run.final_lr_ratio, 0.01);
  EXPECT_EQ(run.steps, 100);
  EXPECT_EQ(run.batch, 4);
  EXPECT_EQ(run.accumulation, 1);
  EXPECT_EQ(run.max_grad_norm, 0.0);
  EXPECT_EQ(run.seed, 0);
  EXPECT_EQ(run.max_tokens, 1024);
  EXPECT_EQ(run.threads, 0);
  EXPECT_EQ(run.log_every, 1);
  EXPECT_EQ(run.checkpoint_every, 0);
  EXPECT_EQ(run.checkpoint, "");
  EXPECT_EQ(run.target, Target::kLabels);
  EXPECT_EQ(run.guide, "");
  EXPECT_EQ(run.guide_prefix, "");
  EXPECT_EQ(run.alpha, 0.0);
  EXPECT_EQ(run.data.eval, "");
  EXPECT_EQ(run.data.num_fewshot, 0);
  EXPECT_EQ(run.data.train_limit, 0);
  EXPECT_EQ(run.data.eval_limit, 0);
  EXPECT_EQ(run.data.on_error, OnError::kError);
}

TEST(RunConfig, SchemaDefaultsAreRunSpecDefaults) {
  const RunSpec defaults{};
  const Schema& schema = run_schema();
  EXPECT_EQ(std::get<std::int64_t>(schema.find("M")->default_value), defaults.M);
  EXPECT_EQ(std::get<double>(schema.find("lr")->default_value), defaults.lr);
  EXPECT_EQ(std::get<std::string>(schema.find("method")->default_value), "standard");
  EXPECT_EQ(schema.find("gamma")->presence, Presence::kOptional);
  EXPECT_EQ(schema.find("data.train")->presence, Presence::kRequired);
  EXPECT_EQ(schema.find("dbp_lambda")->applies_doc, "method: dbp");
  EXPECT_EQ(schema.find("M")->applies_doc, "method: kernel, dbp");
  for (const auto& field : schema.fields()) EXPECT_FALSE(field.description.empty()) << field.key;
}

TEST(RunConfig, RelativePathsResolveAgainstTheFilesDirectory) {
  const auto dir = temp_dir("run_paths");
  const auto path = write_text(dir, "configs/run.yaml",
                               "model: ../models/m.pth\nvocab: v.txt\noutput: out/s.pth\n"
                               "checkpoint: /abs/c.ckpt\n"
                               "data: {benchmark: jsonl, train: ./d/train.jsonl, eval: ''}\n");
  const RunSpec run = load_run_file(path);
  const fs::path base = fs::path(dir);
  EXPECT_EQ(run.model, (base / "models/m.pth").string());
  EXPECT_EQ(run.vocab, (base / "configs/v.txt").string());
  EXPECT_EQ(run.output, (base / "configs/out/s.pth").string());
  EXPECT_EQ(run.data.train, (base / "configs/d/train.jsonl").string());
  EXPECT_EQ(run.checkpoint, "/abs/c.ckpt");
  EXPECT_EQ(run.data.eval, "");  // empty stays empty: "no evaluation set"
}

TEST(RunConfig, CatalogueNamesStayAsWritten) {
  const auto dir = temp_dir("run_names");
  write_text(dir, "configs/local-model", "a file that looks like a name");
  const auto path = write_text(dir, "configs/run.yaml",
                               "model: rwkv7-world-0.1b\nvocab: rwkv-world-vocab\noutput: s.pth\n"
                               "target: guide\nguide: local-model\n"
                               "data: {benchmark: arc_challenge}\n");
  const RunSpec run = load_run_file(path);
  EXPECT_EQ(run.model, "rwkv7-world-0.1b");  // resolved from the fetch cache when the run starts
  EXPECT_EQ(run.vocab, "rwkv-world-vocab");
  EXPECT_TRUE(is_resource_name(run.model));
  EXPECT_EQ(run.guide, (fs::path(dir) / "configs/local-model").string());  // a file beside the config wins
  EXPECT_FALSE(is_resource_name(run.guide));
  // Paths never look like names: an extension, no '-', a folder, capitals.
  for (const char* text : {"m.pth", "model", "models/rwkv7-0.1b", "rwkv7-world.safetensors", "RWKV-x070"})
    EXPECT_FALSE(looks_like_resource_name(text)) << text;
  EXPECT_EQ(load_run_file(path, {"model=m-0.1b.pth"}).model, (fs::current_path() / "m-0.1b.pth").string());
}

TEST(RunConfig, ANamedBenchmarkNeedsNoPaths) {
  const auto dir = temp_dir("run_named_benchmark");
  const auto path = write_text(dir, "run.yaml", "model: /m.pth\nvocab: /v.txt\noutput: o.pth\ndata: {benchmark: mmlu}\n");
  const RunSpec run = load_run_file(path);
  EXPECT_EQ(run.data.train, "");  // the fetched splits, filled in when the run starts
  EXPECT_EQ(run.data.eval, "");
  EXPECT_EQ(run_canonical_text(run).find("data.train:"), std::string::npos);
  EXPECT_EQ(run_canonical_text(run).find("data.fewshot"), std::string::npos);
  const RunSpec with_pool = load_run_file(path, {"data.train=/t", "data.fewshot=/pool"});
  EXPECT_NE(run_canonical_text(with_pool).find("data.fewshot: \"/pool\""), std::string::npos);
  EXPECT_NE(run_hash(with_pool), run_hash(load_run_file(path, {"data.train=/t"})));
  // JSONL examples have no fetched split.
  const auto jsonl = write_text(dir, "jsonl.yaml", "model: /m.pth\nvocab: /v.txt\noutput: o.pth\ndata: {benchmark: jsonl}\n");
  EXPECT_THROW(load_run_file(jsonl), std::exception);
}

TEST(RunConfig, TheFewShotSeedIsPartOfARunThatDrawsShots) {
  const auto dir = temp_dir("run_fewshot_seed");
  const auto path = write_text(dir, "run.yaml", "model: /m.pth\nvocab: /v.txt\noutput: o.pth\n");
  auto text = [&](const std::vector<std::string>& overrides) { return run_canonical_text(load_run_file(path, overrides)); };
  EXPECT_NE(text({"data.benchmark=gsm8k", "data.num_fewshot=5"}).find("data.fewshot_seed: 1234\n"), std::string::npos);
  EXPECT_NE(text({"data.benchmark=arc_challenge", "data.num_fewshot=25", "data.fewshot_seed=7"}).find("data.fewshot_seed: 7\n"),
            std::string::npos);
  // No draw: zero-shot, or MMLU's first k.
  EXPECT_EQ(text({"data.benchmark=arc_challenge"}).find("fewshot_seed"), std::string::npos);
  EXPECT_EQ(text({"data.benchmark=mmlu", "data.num_fewshot=5"}).find("fewshot_seed"), std::string::npos);
}

TEST(RunConfig, OverridesWinOverTheFile) {
  const auto dir = temp_dir("run_overrides");
  const auto path = write_text(dir, "run.yaml", std::string(kMinimalRun) + "lr: 0.5\nmethod: kernel\ngamma: 2\n");
  const RunSpec run = load_run_file(
      path, {"lr=0.25", "M=64", "method=dbp", "data.benchmark=mmlu", "data.eval_limit=10", "linear=false", "gamma="});
  EXPECT_EQ(run.lr, 0.25);
  EXPECT_EQ(run.M, 64);
  EXPECT_EQ(run.method, Method::kDbp);
  EXPECT_EQ(run.data.benchmark, Benchmark::kMmlu);
  EXPECT_EQ(run.data.eval_limit, 10);
  EXPECT_FALSE(run.linear);
  EXPECT_FALSE(run.gamma.has_value());  // an empty value unsets an optional key
}

TEST(RunConfig, OverridePathsAreRelativeToTheCurrentDirectory) {
  const auto dir = temp_dir("run_override_paths");
  const auto path = write_text(dir, "sub/run.yaml", kMinimalRun);
  const RunSpec run = load_run_file(path, {"model=other.pth"});
  EXPECT_EQ(run.model, (fs::current_path() / "other.pth").string());
}

TEST(RunConfig, OverridesSupplyRequiredKeys) {
  const auto dir = temp_dir("run_override_required");
  const auto path = write_text(dir, "run.yaml", "vocab: v.txt\noutput: o.pth\ndata: {benchmark: mmlu}\n");
  const RunSpec run = load_run_file(path, {"model=/m.pth", "data.train=/t.jsonl"});
  EXPECT_EQ(run.model, "/m.pth");
  EXPECT_EQ(run.data.train, "/t.jsonl");
}

TEST(RunConfig, NumbersInEveryNotation) {
  const auto dir = temp_dir("run_numbers");
  const auto path = write_text(dir, "run.yaml",
                               std::string(kMinimalRun) + "lr: 1e-2\nkappa: .5\nsteps: +3\nfinal_lr_ratio: 1\nlinear: True\n");
  const RunSpec run = load_run_file(path);
  EXPECT_EQ(run.lr, 0.01);
  EXPECT_EQ(run.kappa, 0.5);
  EXPECT_EQ(run.steps, 3);
  EXPECT_EQ(run.final_lr_ratio, 1.0);
  EXPECT_TRUE(run.linear);
}

TEST(RunConfig, DottedKeysInTheFile) {
  const auto dir = temp_dir("run_dotted");
  const auto path = write_text(dir, "run.yaml", "model: /m\nvocab: /v\noutput: /o\ndata.benchmark: winogrande\ndata.train: /t\n");
  const RunSpec run = load_run_file(path);
  EXPECT_EQ(run.data.benchmark, Benchmark::kWinogrande);
  EXPECT_EQ(run.data.train, "/t");
}

TEST(RunConfig, PrintedYamlIsSortedCompleteAndLoadsBack) {
  const auto dir = temp_dir("run_yaml");
  const RunSpec run = load_run_file(write_text(dir, "run.yaml", kFullRun));
  const std::string text = run_yaml(run);
  // Every key once, sorted (byte order), data as a nested mapping where "data" sorts.
  EXPECT_EQ(text.find("M: 256\n"), 0u);
  EXPECT_NE(text.find("data:\n  benchmark: gsm8k\n  eval: \"/data/test.jsonl\"\n"), std::string::npos);
  EXPECT_NE(text.find("init_prompt: \"Question: 2+2?\\nAnswer: 4\\n\"\n"), std::string::npos);
  EXPECT_LT(text.find("checkpoint_every:"), text.find("data:"));
  EXPECT_LT(text.find("data:"), text.find("dbp_lambda:"));
  std::size_t lines = 0;
  for (const char c : text) lines += c == '\n';
  EXPECT_EQ(lines, run_schema().fields().size() + 1);  // + the "data:" line

  const auto saved = dir + "/resolved.yaml";
  save_run_yaml(run, saved);
  const RunSpec again = load_run_file(saved);
  EXPECT_EQ(run_yaml(again), text);
  EXPECT_EQ(run_hash(again), run_hash(run));
}

TEST(RunConfig, PrintedYamlShowsUnsetOptionalAsNull) {
  const auto dir = temp_dir("run_yaml_null");
  const RunSpec run = load_run_file(write_text(dir, "run.yaml", kMinimalRun));
  const std::string text = run_yaml(run);
  EXPECT_NE(text.find("\ngamma: null\n"), std::string::npos);
  EXPECT_NE(text.find("\nlr: 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nkappa: 0.001\n"), std::string::npos);
  const auto saved = write_text(dir, "again.yaml", text);
  EXPECT_FALSE(load_run_file(saved).gamma.has_value());
}

TEST(RunConfig, EnumNames) {
  EXPECT_EQ(to_string(Method::kDbp), "dbp");
  EXPECT_EQ(to_string(Benchmark::kArcChallenge), "arc_challenge");
  EXPECT_EQ(to_string(OnError::kSkip), "skip");
}
