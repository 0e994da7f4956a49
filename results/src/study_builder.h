#pragma once
// Writes a new study (format 2) from whole runs, one at a time: what `merge` produces. The
// output appears only when finish() has written all of it; a builder dropped before that
// removes what it wrote, so a failed merge leaves nothing behind.
#include <string>
#include <vector>

#include "statetune/results/records.h"
#include "journal.h"
#include "study_index.h"

namespace statetune::results::detail {

struct CompleteRun {
  RunInfo info;  // with the full description
  std::vector<StepRecord> steps;
  std::vector<EvalMetric> summary;
  std::vector<EvalItem> items;
  std::vector<StateTensor> state;
};

class StudyBuilder {
 public:
  // Refuses (naming it) an output or an output run folder that exists.
  StudyBuilder(std::string path, IndexContents index);
  StudyBuilder(const StudyBuilder&) = delete;
  StudyBuilder& operator=(const StudyBuilder&) = delete;
  ~StudyBuilder();

  void add(const CompleteRun& run);
  void finish();

 private:
  std::string path_;
  IndexContents index_;
  std::string journal_lines_;
  ConfigChain config_chain_;
  bool finished_ = false;
};

}  // namespace statetune::results::detail
