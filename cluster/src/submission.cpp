// Queueing a planned study (submission.h): all or nothing.
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "statetune/cluster/job_log.h"
#include "statetune/cluster/process.h"
#include "statetune/cluster/submission.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"

namespace statetune::cluster {
namespace {

namespace fs = std::filesystem;

std::string joined(const std::vector<std::string>& items, const char* sep) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : sep) + item;
  return text;
}

// The scripts on disk and the jobs in the queue of a submission in progress; unless it is
// committed, the destructor puts everything back as it was.
class Transaction {
 public:
  explicit Transaction(const StudyFiles& files) : files_(files) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  ~Transaction() {
    if (committed_) return;
    cancel_jobs();
    std::error_code ec;
    for (const auto& path : written_) fs::remove(path, ec);
    for (const auto& [backup, path] : backups_) fs::rename(backup, path, ec);
    for (auto it = created_dirs_.rbegin(); it != created_dirs_.rend(); ++it) fs::remove(*it, ec);  // only if empty
  }

  void make_dirs() {
    for (const auto& dir : {files_.slurm_dir, files_.logs_dir}) {
      std::error_code ec;
      if (fs::is_directory(dir, ec)) continue;
      if (!fs::create_directory(dir, ec)) fail("{}: cannot create the folder: {}", dir, ec.message());
      created_dirs_.push_back(dir);
    }
  }

  // Writes a script; an older one at that path is kept aside until the commit.
  void write(const ScriptFile& script) {
    std::error_code ec;
    if (fs::exists(script.path, ec)) {
      const std::string backup = fmt::format("{}.previous.{}", script.path, ::getpid());
      fs::rename(script.path, backup, ec);
      if (ec) fail("{}: cannot move the previous script aside: {}", script.path, ec.message());
      backups_.emplace_back(backup, script.path);
    }
    written_.push_back(script.path);
    write_file_atomic(script.path, script.text);
  }

  // sbatch --parsable --hold [extra] SCRIPT -> the job id.
  std::string queue(const ScriptFile& script, const std::vector<std::string>& extra) {
    std::vector<std::string> argv{"sbatch", "--parsable", "--hold"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(script.path);
    const ProcessResult r = run_process(argv);
    const std::string id = r.out.substr(0, r.out.find_first_of(";\r\n"));
    if (!r.ok() || id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
      const std::string cancelled =
          job_ids_.empty() ? "" : fmt::format("; cancelled the jobs queued before it ({})", joined(job_ids_, " "));
      fail("sbatch refused {} ({}): exit status {}: {}{}; nothing is queued", script.what, script.path,
           r.exit_code, one_line(r), cancelled);
    }
    job_ids_.push_back(id);
    return id;
  }

  const std::vector<std::string>& job_ids() const { return job_ids_; }

  void commit() {
    committed_ = true;
    std::error_code ec;
    for (const auto& [backup, path] : backups_) fs::remove(backup, ec);
  }

 private:
  void cancel_jobs() {
    if (job_ids_.empty()) return;
    std::vector<std::string> argv{"scancel"};
    argv.insert(argv.end(), job_ids_.begin(), job_ids_.end());
    try {
      const ProcessResult r = run_process(argv);
      if (!r.ok()) std::fprintf(stderr, "statetune: warning: %s failed: %s\n", command_line(argv).c_str(), one_line(r).c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "statetune: warning: %s: %s\n", command_line(argv).c_str(), e.what());
    }
  }

  const StudyFiles& files_;
  bool committed_ = false;
  std::vector<std::string> created_dirs_, written_, job_ids_;
  std::vector<std::pair<std::string, std::string>> backups_;  // backup -> original path
};

}  // namespace

Submitted submit_plan(const SubmissionPlan& plan, const StudyFiles& files,
                      const std::function<void(const std::vector<std::string>& job_ids)>& record) {
  Transaction tx(files);
  tx.make_dirs();
  for (const auto& script : plan.scripts) tx.write(script);
  std::vector<std::string> wave_ids;
  for (std::size_t index : plan.submit_now) wave_ids.push_back(tx.queue(plan.scripts[index], {}));
  if (plan.first_chain) {
    tx.queue(plan.scripts[*plan.first_chain], {"--dependency=afterany:" + joined(wave_ids, ":")});
  }
  try {
    record(tx.job_ids());
  } catch (const Error& e) {
    fail("{}; cancelled the queued jobs ({}): nothing is queued", e.what(), joined(tx.job_ids(), " "));
  }

  Submitted submitted{tx.job_ids()};
  tx.commit();
  std::vector<JobLogEntry> entries;
  for (std::size_t i = 0; i < submitted.job_ids.size(); ++i) {
    const ScriptFile& script = plan.scripts[i < plan.submit_now.size() ? plan.submit_now[i] : *plan.first_chain];
    entries.push_back({"", submitted.job_ids[i], "submitted", script.path + " by statetune submit", ""});
  }
  try {
    append_job_log(files.job_log, entries);
  } catch (const Error& e) {  // the jobs are recorded in the results file: go on and release them
    std::fprintf(stderr, "statetune: warning: %s\n", e.what());
  }

  const std::string ids = joined(submitted.job_ids, ",");
  const ProcessResult released = run_process({"scontrol", "release", ids});
  if (!released.ok()) {
    fail("the jobs {} are queued and recorded but held: scontrol release {} failed: {}; release them with "
         "'scontrol release {}' or cancel them with 'scancel {}'",
         joined(submitted.job_ids, " "), ids, one_line(released), ids, joined(submitted.job_ids, " "));
  }
  return submitted;
}

}  // namespace statetune::cluster
