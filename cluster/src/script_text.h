#pragma once
// Pieces shared by the rendered sbatch scripts (job_script.cpp). Private to the module.
#include <string>
#include <vector>

#include "statetune/cluster/cluster_profile.h"
#include "statetune/cluster/job_script.h"

namespace statetune::cluster::detail {

// `text` as one shell word: unchanged when it holds only safe characters, else single-quoted.
std::string shell_quote(const std::string& text);

// "#SBATCH --partition=gpu" lines for the scheduling keys every job of the profile shares:
// job name, partition, account, qos, working directory and output file.
std::string common_sbatch_lines(const ClusterProfile& profile, const StudyJob& study, const std::string& job_name,
                                const std::string& output_pattern);

// The default job name of a study: "statetune-<study>", or the profile's job_name.
std::string study_job_name(const ClusterProfile& profile, const StudyJob& study);

// `log EVENT DETAIL` and `log_as JOB EVENT DETAIL`: bash functions appending to the job log.
std::string log_functions(const std::string& job_log);

}  // namespace statetune::cluster::detail
