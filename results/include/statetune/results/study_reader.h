#pragma once
// StudyReader: reads a study (layout.h) for resume, plan, report, merge and tests. It opens
// the files read-only and sees whole commits of the writer: the journal up to its last whole
// line, each run's file as last published. Reads format 1 files (runs inside the file) too.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::results {

// What runs() holds: kFull, every run's axes and flattened config too (report); kStatus, its
// hash, method, status and attempt fields only (plan, status, resume): less to build for a
// study of thousands of runs.
enum class ReadDetail { kFull, kStatus };

class StudyReader {
 public:
  // Errors are one line naming the file: missing, not HDF5, not a study, newer format.
  static StudyReader open(const std::string& path, ReadDetail detail = ReadDetail::kFull);

  StudyReader(StudyReader&&) noexcept;
  StudyReader& operator=(StudyReader&&) noexcept;
  ~StudyReader();

  const std::string& path() const;
  StudyHeader header() const;

  std::vector<std::string> hashes() const;  // sorted
  bool has_run(const std::string& hash) const;
  // Everything, from the run's file (description.config_yaml and canonical_text included).
  RunInfo run(const std::string& hash) const;
  // Every run, in the order the journal declares them (a sweep's plan order; a format 1 file's
  // are sorted by hash), from the journal alone (one file, however many runs): the
  // description has its hash, method, axes and config but not config_yaml or canonical_text
  // (read run(hash) for those).
  std::vector<RunInfo> runs() const;
  // Hashes whose status is done: what `--resume` skips (after comparing canonical_text).
  std::set<std::string> finished_hashes() const;
  // Every run's status alone (cheap: what `sweep --resume` and `plan` need).
  std::map<std::string, RunStatus> statuses() const;

  std::vector<StepRecord> metrics(const std::string& hash) const;      // empty before a step
  std::vector<EvalMetric> eval_summary(const std::string& hash) const;  // empty until finished
  std::vector<EvalItem> items(const std::string& hash) const;           // empty until finished
  // The tensors stored by finish_run (state/), sorted by name; empty when none were stored.
  std::vector<StateTensor> tuned_state(const std::string& hash) const;

 private:
  struct Impl;
  explicit StudyReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace statetune::results
