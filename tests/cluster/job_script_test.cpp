// The rendered sbatch scripts: the golden --dry-run of a GPU profile, valid bash for every
// shape, and the parts each shape must get right.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_runner.h"
#include "cluster_files.h"
#include "statetune/cluster/cluster_profile.h"
#include "statetune/cluster/job_script.h"
#include "statetune/cluster/study_files.h"

using namespace statetune::cluster;
using statetune::testing::contains;
using statetune::testing::kGpuProfile;
using statetune::testing::kSweep;
using statetune::testing::read_file;
using statetune::testing::replace_all;
using statetune::testing::run_command;
using statetune::testing::run_statetune;
using statetune::testing::temp_dir;
using statetune::testing::write_file;

namespace {

const std::filesystem::path kGolden = std::filesystem::path(__FILE__).parent_path() / "golden";

StudyJob study_in(const std::string& dir) {
  StudyJob s;
  s.study_name = "smoke";
  s.statetune_binary = "/opt/statetune/bin/statetune";
  s.sweep_path = dir + "/smoke.yaml";
  s.working_dir = dir;
  s.overrides = {"model=m.pth", "data.eval=my eval.jsonl"};
  s.sweep_options = {"--threads", "16"};
  s.files = study_files(dir + "/smoke.h5");
  return s;
}

// `bash -n`: the script parses.
void expect_valid_bash(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = write_file(dir, name, text);
  const auto r = run_command("bash -n " + path);
  EXPECT_EQ(r.code, 0) << name << ": " << r.output << "\n" << text;
}

}  // namespace

// What `submit --dry-run` prints for a GPU profile, with the temporary folder and the binary
// replaced by placeholders. To update after an intended change: run the test, check the diff,
// and copy the actual text into tests/cluster/golden/gpu_dry_run.txt.
TEST(JobScript, GoldenDryRunOfAGpuProfile) {
  const std::string dir = temp_dir("golden_dry_run");
  write_file(dir, "smoke.yaml", kSweep);
  write_file(dir, "gpu.yaml", kGpuProfile);
  const auto r = run_command("cd " + dir + " && " + statetune::testing::statetune_binary() +
                             " submit smoke.yaml --cluster gpu.yaml --out smoke.h5 --dry-run model=m.pth 'data.eval=my eval.jsonl'");
  ASSERT_EQ(r.code, 0) << r.output;
  const std::string actual =
      replace_all(replace_all(r.output, statetune::testing::statetune_binary(), "<statetune>"), dir, "<dir>");
  const std::string expected = read_file((kGolden / "gpu_dry_run.txt").string());
  EXPECT_EQ(actual, expected) << "---- actual ----\n" << actual;
  EXPECT_FALSE(std::filesystem::exists(dir + "/smoke.slurm")) << "a dry run wrote files";
  EXPECT_FALSE(std::filesystem::exists(dir + "/smoke.h5")) << "a dry run wrote files";
}

TEST(JobScript, EveryShapeIsValidBash) {
  const std::string dir = temp_dir("job_script_bash");
  const ClusterProfile p = load_cluster_profile(write_file(dir, "gpu.yaml", kGpuProfile));
  const StudyJob s = study_in(dir);
  expect_valid_bash(dir, "job.sbatch", render_study_job(p, s, dir + "/job.sbatch"));
  expect_valid_bash(dir, "array.sbatch", render_array_chunk(p, s, {1000, 500}, 3000, dir + "/array.sbatch"));
  expect_valid_bash(dir, "chain.sbatch", render_chain_job(p, s, 1, {dir + "/a1.sbatch", dir + "/a2.sbatch"}, dir + "/c2.sbatch"));
  expect_valid_bash(dir, "last_chain.sbatch", render_chain_job(p, s, 2, {dir + "/a3.sbatch"}, ""));
}

TEST(JobScript, ArrayChunkMapsItsIndicesToTheStudysTasks) {
  const std::string dir = temp_dir("job_script_array");
  const ClusterProfile p = load_cluster_profile(write_file(dir, "gpu.yaml", kGpuProfile));
  const std::string text = render_array_chunk(p, study_in(dir), {1000, 500}, 3000, dir + "/smoke.slurm/array1.sbatch");
  EXPECT_TRUE(contains(text, "#SBATCH --array=0-499\n")) << text;  // indices from 0: below MaxArraySize
  EXPECT_TRUE(contains(text, "task=$(( 1000 + SLURM_ARRAY_TASK_ID ))\n")) << text;
  EXPECT_TRUE(contains(text, "results=" + dir + "/smoke.task\"$task\".h5\n")) << text;
  EXPECT_TRUE(contains(text, "shard=(--shard \"$task/3000\")\n")) << text;
  EXPECT_TRUE(contains(text, "#SBATCH --output=" + dir + "/smoke.slurm/logs/%x-%A_%a.out\n")) << text;
  EXPECT_TRUE(contains(text, "resubmit_args=(--array=\"$SLURM_ARRAY_TASK_ID\")")) << text;  // resubmits only itself
  EXPECT_TRUE(contains(text, "#SBATCH --gpus-per-node=h100:4\n#SBATCH --cpus-per-task=16\n")) << text;
}

TEST(JobScript, NoRequeuesMeansNoRequeueOption) {
  const std::string dir = temp_dir("job_script_norequeue");
  const ClusterProfile p = load_cluster_profile(write_file(dir, "p.yaml", "max_requeues: 0\nsignal_warning_seconds: 0\n"));
  const std::string text = render_study_job(p, study_in(dir), dir + "/job.sbatch");
  EXPECT_TRUE(contains(text, "#SBATCH --no-requeue\n")) << text;
  EXPECT_FALSE(contains(text, "#SBATCH --signal")) << text;
  EXPECT_FALSE(contains(text, "--gpus-per-node")) << text;
}

TEST(JobScript, ChainJobQueuesItsWaveThenTheNextChainAfterIt) {
  const std::string dir = temp_dir("job_script_chain");
  const ClusterProfile p = load_cluster_profile(write_file(dir, "gpu.yaml", kGpuProfile));
  const std::string text = render_chain_job(p, study_in(dir), 1, {"/s/array2.sbatch", "/s/array3.sbatch"}, "/s/chain2.sbatch");
  EXPECT_TRUE(contains(text, "#SBATCH --job-name=statetune-smoke-chain1\n")) << text;
  EXPECT_TRUE(contains(text, "#SBATCH --partition=gpu\n#SBATCH --account=proj42\n#SBATCH --qos=normal\n")) << text;
  EXPECT_FALSE(contains(text, "--gpus-per-node")) << text;  // it only runs sbatch
  EXPECT_TRUE(contains(text, "wave=(/s/array2.sbatch /s/array3.sbatch)\nnext_chain=/s/chain2.sbatch\n")) << text;
  EXPECT_TRUE(contains(text, "--dependency=\"afterany$ids\"")) << text;
}
