#pragma once
// A cluster profile: how statetune's jobs ask Slurm for resources and set up their
// environment on one cluster. A YAML mapping; every key is optional:
//
//   partition: gpu              # --partition
//   account: proj42             # --account
//   qos: normal                 # --qos
//   time_limit: "1-00:00:00"    # --time: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS
//   nodes: 2                    # --nodes (default 1)
//   ranks_per_node: 4           # --ntasks-per-node: MPI ranks per node (default 1)
//   gpus_per_node: 4            # --gpus-per-node: a count or TYPE:COUNT (h100:4); 0 = none
//   cpus_per_rank: 16           # --cpus-per-task
//   memory: 400G                # --mem, per node: a number with an optional K|M|G|T suffix
//   constraint: "h100&ib"       # --constraint
//   job_name: my-study          # --job-name (default: statetune-<study>)
//   modules: [cuda/12.4, openmpi/4.1.6]     # one `module load` line each, before the run
//   setup:                      # shell lines run before the study, in order
//     - source /opt/venvs/statetune/bin/activate
//     - export NCCL_DEBUG=WARN
//   launcher: srun --mpi=pmix   # what starts the ranks (default); e.g. mpirun
//   extra_sbatch: ["--exclusive", "--mail-type=FAIL"]   # more #SBATCH options, rendered last
//                               # (so they win over the keys above)
//   signal_warning_seconds: 300 # USR1 this long before the time limit: the ranks checkpoint
//                               # and the job requeues itself (default 300; 0 = no warning)
//   max_requeues: 3             # how often a job requeues or resubmits itself (default 3)
//   max_submit_jobs: 500        # the site's per-user MaxSubmitJobs (QOS/association limit;
//                               # `scontrol show config` does not show it): arrays are split
//                               # into waves that fit
//   statetune_binary: /opt/statetune/bin/statetune  # default: the binary that submits
//
// Unknown keys, keys written twice and wrong types are one-line errors naming the file and
// line: "gpu.yaml:3: unknown key 'partion' (did you mean 'partition'?)". Values that end up
// on an #SBATCH line may not hold blanks or newlines.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace statetune::cluster {

struct ClusterProfile {
  std::string path;  // as given
  std::string text;  // the file as written (stored with the study)

  std::string partition, account, qos, constraint, memory, job_name;
  std::string time_limit;                       // as written; "" = the partition's default
  std::optional<std::int64_t> time_limit_seconds;
  std::int64_t nodes = 1;
  std::int64_t ranks_per_node = 1;
  std::string gpus_per_node;                    // "" = no GPUs; "4" or "h100:4"
  std::optional<std::int64_t> cpus_per_rank;
  std::vector<std::string> modules;
  std::vector<std::string> setup;
  std::string launcher = "srun --mpi=pmix";
  std::vector<std::string> extra_sbatch;        // each "--option[=value]"
  std::int64_t signal_warning_seconds = 300;
  std::int64_t max_requeues = 3;
  std::optional<std::int64_t> max_submit_jobs;
  std::string statetune_binary;                 // absolute; "" = the submitting binary

  std::int64_t ranks() const { return nodes * ranks_per_node; }
};

// Reads and validates a profile. Relative paths (statetune_binary) resolve against the
// file's folder.
ClusterProfile load_cluster_profile(const std::string& path);

}  // namespace statetune::cluster
