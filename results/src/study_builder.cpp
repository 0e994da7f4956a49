#include "study_builder.h"

#include <filesystem>

#include "clock_host.h"
#include "journal.h"
#include "layout_io.h"
#include "run_tables.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/log.h"
#include "study_file.h"
#include "study_paths.h"

namespace statetune::results::detail {

StudyBuilder::StudyBuilder(std::string path, IndexContents index) : path_(std::move(path)), index_(std::move(index)) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path_, ec)) fail("{}: exists; merge writes a new file", path_);
  const std::string folder = runs_folder(path_);
  if (fs::exists(folder, ec)) fail("{}: exists; merge writes a new study (move it away)", folder);
  fs::create_directories(folder, ec);
  if (ec) fail("{}: cannot create the study's run folder: {}", folder, ec.message());
  index_.hashes.clear();
}

StudyBuilder::~StudyBuilder() {
  if (finished_) return;
  std::error_code ec;
  std::filesystem::remove_all(runs_folder(path_), ec);
  if (ec) log::warn("{}: could not remove the unfinished output: {}", runs_folder(path_), ec.message());
}

void StudyBuilder::add(const CompleteRun& run) {
  const std::string& hash = run.info.description.hash;
  const std::string file = run_file_path(path_, hash);
  MemoryStudyFile image = MemoryStudyFile::create(file);
  write_run_description(file, image.id(), run.info.description);
  write_run_progress(file, image.id(), run.info);
  for (const auto& step : run.steps) append_metrics(file, image.id(), step);
  if (is_final(run.info.status)) {
    write_eval(file, image.id(), run.summary);
    write_items(file, image.id(), run.items);
  }
  write_state(file, image.id(), run.state);
  image.commit(Durability::kDeferred);
  const std::string now = utc_now_iso();
  journal_lines_ += declare_line(run.info.description, now, config_chain_);
  if (run.info.status != RunStatus::kPending) {
    journal_lines_ += run_line(run.info, is_final(run.info.status) ? &run.summary : nullptr, now);
  }
  index_.hashes.push_back(hash);
}

void StudyBuilder::finish() {
  sync_file_system(runs_folder(path_));
  append_file(journal_path(path_), journal_lines_);
  write_index(path_, index_);  // last: the study exists once it is whole
  finished_ = true;
}

}  // namespace statetune::results::detail
