// Cluster profiles: every key read, defaults, and one-line errors naming the file and line.
#include <gtest/gtest.h>

#include <filesystem>

#include "cluster_files.h"
#include "expect_error.h"
#include "statetune/cluster/cluster_profile.h"

using namespace statetune::cluster;
using statetune::testing::expect_error;
using statetune::testing::kGpuProfile;
using statetune::testing::temp_dir;
using statetune::testing::write_file;

namespace {

std::string write_profile(const std::string& text) { return write_file(temp_dir("cluster_profile"), "cluster.yaml", text); }

void expect_profile_error(const std::string& text, const std::string& message) {
  const std::string path = write_profile(text);
  expect_error([&] { load_cluster_profile(path); }, path + message);
}

}  // namespace

TEST(ClusterProfile, ReadsEveryKey) {
  const ClusterProfile p = load_cluster_profile(write_profile(std::string(kGpuProfile) +
                                                              "job_name: my-study\n"
                                                              "max_submit_jobs: 500\n"
                                                              "statetune_binary: bin/statetune\n"));
  EXPECT_EQ(p.partition, "gpu");
  EXPECT_EQ(p.account, "proj42");
  EXPECT_EQ(p.qos, "normal");
  EXPECT_EQ(p.time_limit, "1-00:00:00");
  EXPECT_EQ(p.time_limit_seconds, 86400);
  EXPECT_EQ(p.nodes, 2);
  EXPECT_EQ(p.ranks_per_node, 4);
  EXPECT_EQ(p.ranks(), 8);
  EXPECT_EQ(p.gpus_per_node, "h100:4");
  EXPECT_EQ(p.cpus_per_rank, 16);
  EXPECT_EQ(p.memory, "400G");
  EXPECT_EQ(p.constraint, "ib");
  EXPECT_EQ(p.modules, (std::vector<std::string>{"cuda/12.4", "openmpi/4.1.6"}));
  EXPECT_EQ(p.setup, (std::vector<std::string>{"export NCCL_DEBUG=WARN"}));
  EXPECT_EQ(p.launcher, "srun --mpi=pmix");
  EXPECT_EQ(p.extra_sbatch, (std::vector<std::string>{"--exclusive"}));
  EXPECT_EQ(p.signal_warning_seconds, 600);
  EXPECT_EQ(p.max_requeues, 5);
  EXPECT_EQ(p.job_name, "my-study");
  EXPECT_EQ(p.max_submit_jobs, 500);
  // Relative to the profile's folder, absolute.
  EXPECT_EQ(p.statetune_binary, (std::filesystem::path(p.path).parent_path() / "bin/statetune").string());
  EXPECT_NE(p.text.find("partition: gpu"), std::string::npos);
}

TEST(ClusterProfile, EmptyFileMeansEveryDefault) {
  const ClusterProfile p = load_cluster_profile(write_profile("# nothing set\n"));
  EXPECT_EQ(p.nodes, 1);
  EXPECT_EQ(p.ranks_per_node, 1);
  EXPECT_EQ(p.launcher, "srun --mpi=pmix");
  EXPECT_EQ(p.signal_warning_seconds, 300);
  EXPECT_EQ(p.max_requeues, 3);
  EXPECT_TRUE(p.partition.empty());
  EXPECT_TRUE(p.gpus_per_node.empty());
  EXPECT_FALSE(p.cpus_per_rank.has_value());
  EXPECT_FALSE(p.time_limit_seconds.has_value());
  EXPECT_FALSE(p.max_submit_jobs.has_value());
}

TEST(ClusterProfile, SingleValuesAreListsOfOneAndZeroGpusIsNone) {
  const ClusterProfile p = load_cluster_profile(write_profile("modules: cuda/12.4\nextra_sbatch: '#SBATCH --exclusive'\ngpus_per_node: 0\n"));
  EXPECT_EQ(p.modules, (std::vector<std::string>{"cuda/12.4"}));
  EXPECT_EQ(p.extra_sbatch, (std::vector<std::string>{"--exclusive"}));
  EXPECT_TRUE(p.gpus_per_node.empty());
}

TEST(ClusterProfile, UnknownKeyNamesTheLineAndSuggests) {
  expect_profile_error("nodes: 2\npartion: gpu\n", ":2: unknown key 'partion' (did you mean 'partition'?)");
  expect_profile_error("nodes: 2\n\nbanana: 1\n", ":3: unknown key 'banana'");
}

TEST(ClusterProfile, WrongTypeNamesTheLineAndWhatWasExpected) {
  expect_profile_error("partition: gpu\nnodes: two\n", ":2: key 'nodes': expected an integer >= 1, got 'two'");
  expect_profile_error("nodes: 0\n", ":1: key 'nodes': expected an integer >= 1, got '0'");
  expect_profile_error("ranks_per_node: 2.5\n", ":1: key 'ranks_per_node': expected an integer >= 1, got '2.5'");
  expect_profile_error("partition: [a, b]\n", ":1: key 'partition': expected a value without blanks, got a list");
  expect_profile_error("partition: gpu large\n", ":1: key 'partition': expected a value without blanks, got 'gpu large'");
  expect_profile_error("signal_warning_seconds: 70000\n",
                       ":1: key 'signal_warning_seconds': expected an integer from 0 to 65535, got '70000'");
  expect_profile_error("gpus_per_node: four\n", ":1: key 'gpus_per_node': expected a GPU count or TYPE:COUNT");
  expect_profile_error("memory: 4 GB\n", ":1: key 'memory': expected a memory size per node");
  expect_profile_error("modules:\n  - cuda\n  - {a: 1}\n", ":3: key 'modules': expected a list of text values, got a mapping");
  expect_profile_error("launcher: \"srun\\nrm -rf /\"\n", ":1: key 'launcher': expected a single line, got 'srun\\nrm -rf /'");
}

TEST(ClusterProfile, TimeLimitMustBeASlurmTime) {
  expect_profile_error("nodes: 1\ntime_limit: 1 day\n", ":2: key 'time_limit': expected a time limit: MM, MM:SS, HH:MM:SS");
  expect_profile_error("time_limit: 0\n", ":1: key 'time_limit': expected a time limit");
}

TEST(ClusterProfile, SignalWarningMustComeAfterTheStart) {
  expect_profile_error("time_limit: 10\nsignal_warning_seconds: 600\n",
                       ":2: key 'signal_warning_seconds': 600 s is not less than the time limit '10'");
  // The default warning (300 s) against a 4-minute limit: the limit's line is named.
  expect_profile_error("time_limit: 4\n", ":1: key 'signal_warning_seconds': 300 s is not less than the time limit '4'");
  EXPECT_NO_THROW(load_cluster_profile(write_profile("time_limit: 4\nsignal_warning_seconds: 0\n")));
}

TEST(ClusterProfile, ExtraSbatchRefusesWhatStatetuneSets) {
  expect_profile_error("extra_sbatch:\n  - --exclusive\n  - --signal=USR2@60\n",
                       ":3: key 'extra_sbatch': '--signal' is set by statetune; use signal_warning_seconds instead");
  expect_profile_error("extra_sbatch: [--array=0-3]\n", ":1: key 'extra_sbatch': '--array' is set by statetune");
  expect_profile_error("extra_sbatch: [exclusive]\n",
                       ":1: key 'extra_sbatch': expected sbatch options such as '--exclusive', got 'exclusive'");
}

TEST(ClusterProfile, KeyWrittenTwiceAndBadYamlNameTheLine) {
  expect_profile_error("nodes: 1\nqos: a\nnodes: 2\n", ":3: key 'nodes' is written twice (first at ");
  expect_profile_error("nodes: [1, 2\n", ":2: YAML syntax error");
  expect_profile_error("- nodes\n", ":1: expected a mapping of cluster profile keys, got a list");
}

TEST(ClusterProfile, TheExamplesLoad) {
  const std::filesystem::path examples = std::filesystem::path(__FILE__).parent_path() / "../../cluster/examples";
  const ClusterProfile gpu = load_cluster_profile((examples / "gpu.yaml").string());
  EXPECT_EQ(gpu.ranks(), 8);
  EXPECT_EQ(gpu.gpus_per_node, "4");
  const ClusterProfile local = load_cluster_profile((examples / "local.yaml").string());
  EXPECT_EQ(local.partition, "debug");
  EXPECT_TRUE(local.gpus_per_node.empty());
}
