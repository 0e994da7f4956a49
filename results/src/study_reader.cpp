#include "statetune/results/study_reader.h"

#include <optional>

#include "h5_io.h"
#include "journal.h"
#include "layout_io.h"
#include "layout_names.h"
#include "run_tables.h"
#include "statetune/common/error.h"
#include "study_file.h"
#include "study_paths.h"

namespace statetune::results {

using namespace detail;

struct StudyReader::Impl {
  std::string path;
  Handle file;
  StudyHeader header;
  // Format 2: the journal's catalog of every run's small fields. Format 1 files hold their
  // runs as groups inside the file (read one by one).
  std::optional<Catalog> catalog;
  bool full = true;  // the catalog keeps axes, config and summaries (ReadDetail::kFull)

  // A run's group and the file to name in errors: its own file (format 2) or the study's.
  struct Run {
    std::string path;
    Handle object;
  };

  const CatalogEntry& entry(const std::string& hash) const {
    auto found = catalog->runs.find(hash);
    if (found == catalog->runs.end()) fail("{}: no run {} in the study", path, hash);
    return found->second;
  }

  Run run(const std::string& hash) const {
    if (catalog) {
      entry(hash);
      const std::string file = run_file_path(path, hash);
      return {file, open_read_only(file)};
    }
    Handle runs_group = open_group(path, file.get(), names::kRunsGroup);
    if (!link_exists(path, runs_group.get(), hash)) fail("{}: no run {} in the study", path, hash);
    return {path, open_group(path, runs_group.get(), hash)};
  }

  std::vector<std::string> group_names() const {
    Handle runs_group = open_group(path, file.get(), names::kRunsGroup);
    return child_names(path, runs_group.get());
  }
};

StudyReader StudyReader::open(const std::string& path, ReadDetail detail) {
  Handle file = open_read_only(path);
  StudyHeader header = read_header(path, file.get());
  std::optional<Catalog> catalog;
  if (header.format_version >= 2) {
    catalog = read_catalog(journal_path(path),
                           detail == ReadDetail::kFull ? CatalogDetail::kFull : CatalogDetail::kStatusOnly);
    if (catalog->last_time > header.updated) header.updated = catalog->last_time;
  }
  return StudyReader(std::make_unique<Impl>(
      Impl{path, std::move(file), std::move(header), std::move(catalog), detail == ReadDetail::kFull}));
}

StudyReader::StudyReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StudyReader::StudyReader(StudyReader&&) noexcept = default;
StudyReader& StudyReader::operator=(StudyReader&&) noexcept = default;
StudyReader::~StudyReader() = default;

const std::string& StudyReader::path() const { return impl_->path; }
StudyHeader StudyReader::header() const { return impl_->header; }

std::vector<std::string> StudyReader::hashes() const {
  if (!impl_->catalog) return impl_->group_names();
  std::vector<std::string> out;
  for (const auto& [hash, entry] : impl_->catalog->runs) out.push_back(hash);
  return out;
}

bool StudyReader::has_run(const std::string& hash) const {
  check_run_hash(impl_->path, hash);
  if (impl_->catalog) return impl_->catalog->runs.count(hash) != 0;
  Handle runs = open_group(impl_->path, impl_->file.get(), names::kRunsGroup);
  return link_exists(impl_->path, runs.get(), hash);
}

RunInfo StudyReader::run(const std::string& hash) const {
  const Impl::Run run = impl_->run(hash);
  return read_run_info(run.path, run.object.get(), hash);
}

std::vector<RunInfo> StudyReader::runs() const {
  std::vector<RunInfo> all;
  if (!impl_->catalog) {
    for (const auto& hash : hashes()) all.push_back(run(hash));
    return all;
  }
  // In the order the journal declares them: the sweep's plan order (report --as-planned).
  for (const auto& hash : impl_->catalog->declared) all.push_back(impl_->catalog->runs.at(hash).info);
  return all;
}

std::map<std::string, RunStatus> StudyReader::statuses() const {
  std::map<std::string, RunStatus> out;
  if (impl_->catalog) {
    for (const auto& [hash, entry] : impl_->catalog->runs) out[hash] = entry.info.status;
    return out;
  }
  for (const auto& hash : hashes()) {
    const Impl::Run run = impl_->run(hash);
    out[hash] = read_run_status(run.path, run.object.get(), hash);
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
  const Impl::Run run = impl_->run(hash);
  return read_metrics(run.path, run.object.get());
}

std::vector<EvalMetric> StudyReader::eval_summary(const std::string& hash) const {
  if (impl_->catalog) {
    const CatalogEntry& entry = impl_->entry(hash);
    if (entry.has_summary && impl_->full) return entry.summary;
  }
  const Impl::Run run = impl_->run(hash);
  return read_eval(run.path, run.object.get());
}

std::vector<EvalItem> StudyReader::items(const std::string& hash) const {
  const Impl::Run run = impl_->run(hash);
  return read_items(run.path, run.object.get());
}

std::vector<StateTensor> StudyReader::tuned_state(const std::string& hash) const {
  const Impl::Run run = impl_->run(hash);
  return read_state(run.path, run.object.get(), hash);
}

}  // namespace statetune::results
