#include "statetune/results/study_reader.h"

#include "h5_io.h"
#include "layout_io.h"
#include "layout_names.h"
#include "run_tables.h"
#include "statetune/common/error.h"
#include "study_file.h"

namespace statetune::results {

using namespace detail;

struct StudyReader::Impl {
  std::string path;
  Handle file;
  StudyHeader header;

  Handle runs() const { return open_group(path, file.get(), names::kRunsGroup); }
  Handle run(const std::string& hash) const {
    Handle runs_group = runs();
    if (!link_exists(path, runs_group.get(), hash)) fail("{}: no run {} in the study", path, hash);
    return open_group(path, runs_group.get(), hash);
  }
};

StudyReader StudyReader::open(const std::string& path) {
  Handle file = open_read_only(path);
  StudyHeader header = read_header(path, file.get());
  return StudyReader(std::make_unique<Impl>(Impl{path, std::move(file), std::move(header)}));
}

StudyReader::StudyReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StudyReader::StudyReader(StudyReader&&) noexcept = default;
StudyReader& StudyReader::operator=(StudyReader&&) noexcept = default;
StudyReader::~StudyReader() = default;

const std::string& StudyReader::path() const { return impl_->path; }
StudyHeader StudyReader::header() const { return impl_->header; }

std::vector<std::string> StudyReader::hashes() const {
  Handle runs = impl_->runs();
  return child_names(impl_->path, runs.get());
}

bool StudyReader::has_run(const std::string& hash) const {
  check_run_hash(impl_->path, hash);
  Handle runs = impl_->runs();
  return link_exists(impl_->path, runs.get(), hash);
}

RunInfo StudyReader::run(const std::string& hash) const {
  Handle group = impl_->run(hash);
  return read_run_info(impl_->path, group.get(), hash);
}

std::vector<RunInfo> StudyReader::runs() const {
  std::vector<RunInfo> all;
  for (const auto& hash : hashes()) all.push_back(run(hash));
  return all;
}

std::map<std::string, RunStatus> StudyReader::statuses() const {
  std::map<std::string, RunStatus> out;
  Handle runs_group = impl_->runs();
  for (const auto& hash : child_names(impl_->path, runs_group.get())) {
    Handle group = open_group(impl_->path, runs_group.get(), hash);
    out[hash] = read_run_status(impl_->path, group.get(), hash);
  }
  return out;
}

std::set<std::string> StudyReader::finished_hashes() const {
  std::set<std::string> done;
  for (const auto& [hash, status] : statuses())
    if (status == RunStatus::kDone) done.insert(hash);
  return done;
}

std::vector<StepRecord> StudyReader::metrics(const std::string& hash) const {
  Handle group = impl_->run(hash);
  return read_metrics(impl_->path, group.get());
}

std::vector<EvalMetric> StudyReader::eval_summary(const std::string& hash) const {
  Handle group = impl_->run(hash);
  return read_eval(impl_->path, group.get());
}

std::vector<EvalItem> StudyReader::items(const std::string& hash) const {
  Handle group = impl_->run(hash);
  return read_items(impl_->path, group.get());
}

std::vector<StateTensor> StudyReader::tuned_state(const std::string& hash) const {
  Handle group = impl_->run(hash);
  return read_state(impl_->path, group.get(), hash);
}

}  // namespace statetune::results
