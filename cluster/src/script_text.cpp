#include "script_text.h"

#include <fmt/format.h>

namespace statetune::cluster::detail {

std::string shell_quote(const std::string& text) {
  const std::string safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-";
  if (!text.empty() && text.find_first_not_of(safe) == std::string::npos) return text;
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string study_job_name(const ClusterProfile& profile, const StudyJob& study) {
  return profile.job_name.empty() ? "statetune-" + study.study_name : profile.job_name;
}

std::string common_sbatch_lines(const ClusterProfile& profile, const StudyJob& study, const std::string& job_name,
                                const std::string& output_pattern) {
  std::string lines = fmt::format("#SBATCH --job-name={}\n", job_name);
  if (!profile.partition.empty()) lines += fmt::format("#SBATCH --partition={}\n", profile.partition);
  if (!profile.account.empty()) lines += fmt::format("#SBATCH --account={}\n", profile.account);
  if (!profile.qos.empty()) lines += fmt::format("#SBATCH --qos={}\n", profile.qos);
  lines += fmt::format("#SBATCH --chdir={}\n", study.working_dir);
  lines += fmt::format("#SBATCH --output={}/{}\n", study.files.logs_dir, output_pattern);
  lines += "#SBATCH --open-mode=append\n";
  return lines;
}

std::string log_functions(const std::string& job_log) {
  return fmt::format(R"SH(job_log={}
log_as() {{  # JOB EVENT DETAIL: one line in the study's job log (statetune status shows it) and in this output
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $*"
  printf '%s\n' "$line" >> "$job_log"
  printf 'statetune-job: %s\n' "$line"
}}
log() {{ log_as "$job" "$@"; }}
)SH",
                     shell_quote(job_log));
}

}  // namespace statetune::cluster::detail
