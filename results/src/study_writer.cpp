#include "statetune/results/study_writer.h"

#include <filesystem>
#include <map>

#include "clock_host.h"
#include "h5_io.h"
#include "layout_io.h"
#include "layout_names.h"
#include "run_tables.h"
#include "statetune/common/error.h"
#include "statetune/common/log.h"
#include "statetune/common/timer.h"
#include "study_file.h"

namespace statetune::results {

using namespace detail;

struct StudyWriter::Impl {
  Impl(MemoryStudyFile file_, const WriterOptions& options_) : file(std::move(file_)), options(options_) {}

  MemoryStudyFile file;
  WriterOptions options;
  bool dirty = false;
  Timer since_commit;
  std::map<std::string, Timer> attempt_clock;  // wall time of the runs begun by this writer

  const std::string& path() const { return file.path(); }

  void commit() {
    touch_updated(path(), file.id());
    file.commit();
    dirty = false;
    since_commit.reset();
  }

  Handle runs() { return open_group(path(), file.id(), names::kRunsGroup); }

  Handle existing_run(const std::string& hash, const char* action) {
    check_run_hash(path(), hash);
    Handle runs_group = runs();
    if (!link_exists(path(), runs_group.get(), hash)) fail("{}: {}: no run {} in the study", path(), action, hash);
    return open_group(path(), runs_group.get(), hash);
  }
};

namespace {

void check_same_study(const std::string& path, const StudyHeader& header, const StudyInfo& info) {
  if (!header.info.name.empty() && !info.name.empty() && header.info.name != info.name) {
    fail("{}: the file holds study '{}', not '{}'; use another --out file", path, header.info.name, info.name);
  }
  if (!header.info.sweep_yaml.empty() && !info.sweep_yaml.empty() && header.info.sweep_yaml != info.sweep_yaml) {
    fail("{}: the file was written by a different sweep of study '{}' (sweep text differs); use another --out file",
         path, header.info.name);
  }
}

}  // namespace

StudyWriter StudyWriter::open(const std::string& path, const StudyInfo& info, const WriterOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    MemoryStudyFile file = MemoryStudyFile::load(path);
    check_same_study(path, read_header(path, file.id()), info);
    return StudyWriter(std::make_unique<Impl>(std::move(file), options));
  }
  MemoryStudyFile file = MemoryStudyFile::create(path);
  write_new_header(path, file.id(), info);
  auto impl = std::make_unique<Impl>(std::move(file), options);
  impl->commit();  // the study file exists from the start
  return StudyWriter(std::move(impl));
}

StudyWriter::StudyWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StudyWriter::StudyWriter(StudyWriter&&) noexcept = default;
StudyWriter& StudyWriter::operator=(StudyWriter&&) noexcept = default;

StudyWriter::~StudyWriter() {
  if (!impl_ || !impl_->dirty) return;
  try {
    impl_->commit();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
}

const std::string& StudyWriter::path() const { return impl_->path(); }

void StudyWriter::declare_run(const RunDescription& run) {
  const std::string& path = impl_->path();
  check_run_hash(path, run.hash);
  Handle runs = impl_->runs();
  if (link_exists(path, runs.get(), run.hash)) {
    Handle group = open_group(path, runs.get(), run.hash);
    const std::string stored = read_canonical_text(path, group.get(), run.hash);
    if (stored != run.canonical_text) fail_conflicting_config(path, run.hash, stored, run.canonical_text);
    return;
  }
  Handle group = create_group(path, runs.get(), run.hash);
  write_run_description(path, group.get(), run);
  // Pending runs are bookkeeping, not results: they are committed with the next status change.
  impl_->dirty = true;
}

void StudyWriter::begin_run(const RunDescription& run, const RunPlacement& placement) {
  const std::string& path = impl_->path();
  declare_run(run);
  Handle group = impl_->existing_run(run.hash, "begin_run");
  if (read_run_status(path, group.get(), run.hash) == RunStatus::kDone) {
    fail("{}: begin_run: run {} is already done (resume skips done runs)", path, run.hash);
  }
  const std::int64_t attempts = read_int_attr(path, group.get(), names::kAttempts, "/runs/" + run.hash);
  clear_tables(path, group.get());
  write_attr(path, group.get(), names::kAttempts, attempts + 1);
  write_attr(path, group.get(), names::kStarted, utc_now_iso());
  write_attr(path, group.get(), names::kFinished, std::string());
  write_attr(path, group.get(), names::kWallSeconds, kMissing);
  write_attr(path, group.get(), names::kRanks, placement.ranks);
  write_attr(path, group.get(), names::kHost, placement.host.empty() ? this_host() : placement.host);
  write_attr(path, group.get(), names::kMessage, std::string());
  write_attr(path, group.get(), names::kTunedStatePath, std::string());
  write_attr(path, group.get(), names::kStatus, std::string(to_string(RunStatus::kRunning)));
  impl_->attempt_clock[run.hash] = Timer();
  impl_->commit();
}

void StudyWriter::append_step(const std::string& hash, const StepRecord& step) {
  Handle group = impl_->existing_run(hash, "append_step");
  append_metrics(impl_->path(), group.get(), step);
  impl_->dirty = true;
  if (impl_->since_commit.seconds() >= impl_->options.step_commit_interval_s) impl_->commit();
}

void StudyWriter::finish_run(const std::string& hash, const RunOutcome& outcome) {
  const std::string& path = impl_->path();
  if (!is_final(outcome.status)) {
    fail("{}: finish_run: run {}: status '{}' does not end a run", path, hash, to_string(outcome.status));
  }
  Handle group = impl_->existing_run(hash, "finish_run");
  if (read_run_status(path, group.get(), hash) == RunStatus::kDone) {
    fail("{}: finish_run: run {} is already done", path, hash);
  }
  // Before any write: a refused outcome leaves the image as it was (the run still running).
  check_tuned_state(path, hash, outcome.tuned_state);
  write_eval(path, group.get(), outcome.summary);
  write_items(path, group.get(), outcome.items);
  write_state(path, group.get(), outcome.tuned_state);
  write_attr(path, group.get(), names::kFinished, utc_now_iso());
  auto clock = impl_->attempt_clock.find(hash);
  write_attr(path, group.get(), names::kWallSeconds, clock != impl_->attempt_clock.end() ? clock->second.seconds() : kMissing);
  write_attr(path, group.get(), names::kMessage, outcome.message);
  write_attr(path, group.get(), names::kTunedStatePath, outcome.tuned_state_path);
  // Last, so that no image ever holds `done` without the run's data (the commit publishes
  // all of it at once anyway).
  write_attr(path, group.get(), names::kStatus, std::string(to_string(outcome.status)));
  impl_->commit();
}

std::vector<std::string> StudyWriter::mark_interrupted_running(const std::string& message) {
  const std::string& path = impl_->path();
  Handle runs = impl_->runs();
  std::vector<std::string> marked;
  for (const auto& hash : child_names(path, runs.get())) {
    Handle group = open_group(path, runs.get(), hash);
    if (read_run_status(path, group.get(), hash) != RunStatus::kRunning) continue;
    write_attr(path, group.get(), names::kFinished, utc_now_iso());
    write_attr(path, group.get(), names::kMessage, message);
    write_attr(path, group.get(), names::kStatus, std::string(to_string(RunStatus::kInterrupted)));
    marked.push_back(hash);
  }
  impl_->commit();
  return marked;
}

void StudyWriter::set_study_attribute(const std::string& key, const std::string& value) {
  const std::string& path = impl_->path();
  ST_CHECK(!key.empty(), "{}: set_study_attribute: empty key", path);
  Handle study = open_or_create_group(path, impl_->file.id(), names::kStudyGroup);
  write_attr(path, study.get(), key, value);
  impl_->commit();
}

void StudyWriter::flush() { impl_->commit(); }

}  // namespace statetune::results
