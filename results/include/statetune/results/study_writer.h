#pragma once
// StudyWriter: the single writer of a study file (layout.h). Only global rank 0 opens it;
// workers send their results to rank 0.
//
// Every update that changes a run's status is committed at once: the run's file (in-memory
// image -> temp file -> fsync -> rename), then one line appended to the study's journal
// (layout.h). A commit costs what it adds, not the study's size; the files on disk are always
// complete and readable, also by h5py while the study runs. Steps are committed at most every
// `step_commit_interval_s` (and with the next status change), so a crash loses at most that
// much of a curve. The writer's memory is the runs in progress and a status per run.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::results {

struct WriterOptions {
  double step_commit_interval_s = 10.0;  // 0: commit after every step
  // false: commits skip fsync (still atomic renames and whole journal lines, but a power cut
  // may lose them): for benchmarks and tests that build large studies, never for results.
  bool durable = true;
};

class StudyWriter {
 public:
  // Opens an existing study file, or creates it. Refuses (statetune::Error naming the file):
  // a file that is not HDF5 or not a study; a newer format_version; a study whose name or
  // sweep text differs from `info` (when both are non-empty).
  static StudyWriter open(const std::string& path, const StudyInfo& info, const WriterOptions& options = {});

  StudyWriter(StudyWriter&&) noexcept;
  StudyWriter& operator=(StudyWriter&&) noexcept;
  ~StudyWriter();  // commits what is pending; errors there are logged, not thrown

  const std::string& path() const;

  // Adds the run as `pending` if absent (committed with the next commit, so planning
  // thousands of runs costs one file write). A run of the same hash with a different
  // canonical_text is refused ("conflicting duplicate run <hash>", naming the file and the
  // first differing line); an identical one is left as is.
  void declare_run(const RunDescription& run);
  // declare_run, then marks it `running` (attempts + 1, started now, placement), clearing
  // the tables of an earlier attempt. Refuses a run that is already done.
  void begin_run(const RunDescription& run, const RunPlacement& placement = {});
  // Appends one row to the run's metric curves. The run must exist.
  void append_step(const std::string& hash, const StepRecord& step);
  // Writes the summary, items and attributes, then the status (not running/pending), and
  // commits. The run must exist and must not be done already.
  void finish_run(const std::string& hash, const RunOutcome& outcome);
  // On resume: every `running` run becomes `interrupted`. Returns their hashes.
  std::vector<std::string> mark_interrupted_running(const std::string& message = "found running when the study resumed");
  // A free-form study attribute (/study), e.g. slurm_job_ids. Overwrites.
  void set_study_attribute(const std::string& key, const std::string& value);
  // Commits now.
  void flush();

 private:
  struct Impl;
  explicit StudyWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace statetune::results
