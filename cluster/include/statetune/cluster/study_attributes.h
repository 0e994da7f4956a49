#pragma once
// The study attributes (/study in the results file, results::StudyWriter::set_study_attribute)
// that `statetune submit` records and `statetune status` reads. Only names and their text
// format live here; the cluster module does not touch HDF5.
#include <string>
#include <vector>

namespace statetune::cluster::attributes {

inline constexpr const char* kJobIds = "slurm_job_ids";          // "4242 4243": the jobs submit queued
inline constexpr const char* kSubmitted = "slurm_submitted";     // "2025-01-31T12:00:00Z"
inline constexpr const char* kScripts = "slurm_scripts";         // every rendered script, see scripts_text
inline constexpr const char* kProfile = "slurm_cluster_profile"; // the profile's path and text
inline constexpr const char* kSlurmDir = "slurm_dir";            // RESULTS.slurm (job log, scripts, logs)
inline constexpr const char* kArrayTasks = "slurm_array_tasks";  // "0" for one job, else K

// Job ids from an attribute value: separated by blanks or newlines (merge joins the values of
// several submissions with newlines).
std::vector<std::string> split_job_ids(const std::string& text);

}  // namespace statetune::cluster::attributes
