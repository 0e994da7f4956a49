#include "statetune/results/study_writer.h"

#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "clock_host.h"
#include "h5_io.h"
#include "journal.h"
#include "layout_io.h"
#include "layout_names.h"
#include "run_tables.h"
#include "statetune/common/error.h"
#include "statetune/common/file_io.h"
#include "statetune/common/log.h"
#include "statetune/common/timer.h"
#include "statetune/results/layout.h"
#include "study_file.h"
#include "study_index.h"
#include "study_paths.h"

namespace statetune::results {

using namespace detail;

struct StudyWriter::Impl {
  std::string path;
  IndexContents index;  // as last written; index.hashes is rebuilt from the catalog
  Catalog catalog;      // every run's status (CatalogDetail::kStatusOnly)
  WriterOptions options;
  // The images of the runs this writer holds open (begun, not ended): a few per rank group,
  // whatever the study's size.
  std::map<std::string, MemoryStudyFile> open_runs;
  std::map<std::string, bool> dirty;           // open runs with steps not yet on disk
  std::map<std::string, Timer> attempt_clock;  // wall time of the runs begun by this writer
  std::string unpublished;  // declare lines of run files written but not yet in the journal
  Timer since_commit;

  std::string journal() const { return journal_path(path); }
  Durability durability() const { return options.durable ? Durability::kSynced : Durability::kDeferred; }

  // Declared runs join the study: their files are made durable, then journalled, then linked
  // from the index. Before this, a crash leaves at most orphan run files that nothing names.
  void publish_declared() {
    if (unpublished.empty()) return;
    if (options.durable) sync_file_system(runs_folder(path));
    append_file(journal(), unpublished, durability());
    unpublished.clear();
    rewrite_index();
  }

  void rewrite_index() {
    index.hashes.clear();
    for (const auto& [hash, entry] : catalog.runs) index.hashes.push_back(hash);
    write_index(path, index);
  }

  CatalogEntry& entry(const std::string& hash, const char* action) {
    check_run_hash(path, hash);
    auto found = catalog.runs.find(hash);
    if (found == catalog.runs.end()) fail("{}: {}: no run {} in the study", path, action, hash);
    return found->second;
  }

  MemoryStudyFile& image(const std::string& hash) {
    auto found = open_runs.find(hash);
    if (found != open_runs.end()) return found->second;
    return open_runs.emplace(hash, MemoryStudyFile::load(run_file_path(path, hash))).first->second;
  }

  // Commits the open runs' steps (what a status change of any run also does).
  void commit_steps() {
    for (auto& [hash, is_dirty] : dirty) {
      if (is_dirty) image(hash).commit(durability());
    }
    dirty.clear();
    since_commit.reset();
  }

  // Publishes the run's image, then journals its small fields: the journal never says more
  // than the run files hold.
  void commit_run(const std::string& hash, bool ended, const std::vector<EvalMetric>* summary) {
    MemoryStudyFile& run = image(hash);
    run.commit(durability());
    dirty.erase(hash);
    const RunInfo info = read_run_info(run.path(), run.id(), hash);
    append_file(journal(), run_line(info, summary, utc_now_iso()), durability());
    catalog.runs[hash].info.status = info.status;
    if (ended) {
      open_runs.erase(hash);
      attempt_clock.erase(hash);
    }
    commit_steps();
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

std::string folder_of(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : ".";
}

off_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

void remove_stale_commits(const std::string& path) {
  remove_stale_temporaries(folder_of(path), std::filesystem::path(path).filename().string() + ".tmp.");
  remove_stale_temporaries(runs_folder(path), "");
}

}  // namespace

StudyWriter StudyWriter::open(const std::string& path, const StudyInfo& info, const WriterOptions& options) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  const std::string folder = runs_folder(path);
  std::error_code ec;
  if (fs::exists(path, ec)) {
    StudyHeader header;
    {
      Handle file = open_read_only(path);
      header = read_header(path, file.get());
    }
    if (header.format_version < kFormatVersion) {
      fail("{}: written by an older statetune (study format {}, this one writes {}); `statetune merge {} NEW.h5` "
           "converts it, then resume NEW.h5",
           path, header.format_version, kFormatVersion, path);
    }
    check_same_study(path, header, info);
    if (!fs::is_directory(folder, ec)) fail("{}: missing: the folder of the study's runs and journal", folder);
    remove_stale_commits(path);
    impl->catalog = read_catalog(impl->journal(), CatalogDetail::kStatusOnly);
    if (static_cast<off_t>(impl->catalog.whole_bytes) < file_size(impl->journal())) {
      log::warn("{}: cutting off a torn last line (a writer was killed while appending)", impl->journal());
      truncate_to_whole_lines(impl->journal(), impl->catalog.whole_bytes);
    }
    impl->index = {header.info, header.created, header.attributes, {}};
    std::vector<std::string> journalled;
    for (const auto& [hash, entry] : impl->catalog.runs) journalled.push_back(hash);
    // Killed between the journal and the index: link what the journal holds.
    if (read_index_links(path) != journalled) impl->rewrite_index();
    return StudyWriter(std::move(impl));
  }
  if (file_size(journal_path(path)) > 0) {
    fail("{}: holds the runs of a study whose file {} is missing; move it away or use another --out file", folder,
         path);
  }
  fs::create_directories(folder, ec);
  if (ec) fail("{}: cannot create the study's run folder: {}", folder, ec.message());
  remove_stale_commits(path);
  append_file(impl->journal(), "");
  impl->index = {info, utc_now_iso(), {}, {}};
  impl->rewrite_index();  // the study exists from the start
  return StudyWriter(std::move(impl));
}

StudyWriter::StudyWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StudyWriter::StudyWriter(StudyWriter&&) noexcept = default;
StudyWriter& StudyWriter::operator=(StudyWriter&&) noexcept = default;

StudyWriter::~StudyWriter() {
  if (!impl_) return;
  try {
    impl_->publish_declared();
    impl_->commit_steps();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
  }
}

const std::string& StudyWriter::path() const { return impl_->path; }

void StudyWriter::declare_run(const RunDescription& run) {
  const std::string& path = impl_->path;
  check_run_hash(path, run.hash);
  auto found = impl_->catalog.runs.find(run.hash);
  if (found != impl_->catalog.runs.end()) {
    if (found->second.fingerprint == canonical_fingerprint(run.canonical_text)) return;
    // The run file holds the text: name the first line that differs.
    const std::string file = run_file_path(path, run.hash);
    Handle stored = open_read_only(file);
    fail_conflicting_config(path, run.hash, read_canonical_text(file, stored.get(), run.hash), run.canonical_text);
  }
  // A pending run's file, written without waiting for the disk: publish_declared syncs the
  // folder once for all the runs a sweep declares.
  const std::string file = run_file_path(path, run.hash);
  MemoryStudyFile image = MemoryStudyFile::create(file);
  write_run_description(file, image.id(), run);
  image.commit(Durability::kDeferred);
  CatalogEntry& entry = impl_->catalog.runs[run.hash];
  entry.info.description.hash = run.hash;
  entry.info.status = RunStatus::kPending;
  entry.fingerprint = canonical_fingerprint(run.canonical_text);
  impl_->unpublished += declare_line(run, utc_now_iso(), impl_->catalog.config_chain);
}

void StudyWriter::begin_run(const RunDescription& run, const RunPlacement& placement) {
  const std::string& path = impl_->path;
  declare_run(run);
  impl_->publish_declared();
  if (impl_->entry(run.hash, "begin_run").info.status == RunStatus::kDone) {
    fail("{}: begin_run: run {} is already done (resume skips done runs)", path, run.hash);
  }
  MemoryStudyFile& image = impl_->image(run.hash);
  const std::string& file = image.path();
  const std::int64_t attempts = read_int_attr(file, image.id(), names::kAttempts, "/");
  clear_tables(file, image.id());
  write_attr(file, image.id(), names::kAttempts, attempts + 1);
  write_attr(file, image.id(), names::kStarted, utc_now_iso());
  write_attr(file, image.id(), names::kFinished, std::string());
  write_attr(file, image.id(), names::kWallSeconds, kMissing);
  write_attr(file, image.id(), names::kRanks, placement.ranks);
  write_attr(file, image.id(), names::kHost, placement.host.empty() ? this_host() : placement.host);
  write_attr(file, image.id(), names::kMessage, std::string());
  write_attr(file, image.id(), names::kTunedStatePath, std::string());
  write_attr(file, image.id(), names::kBaseline, std::string());
  write_attr(file, image.id(), names::kStatus, std::string(to_string(RunStatus::kRunning)));
  impl_->attempt_clock[run.hash] = Timer();
  impl_->commit_run(run.hash, /*ended=*/false, nullptr);
}

void StudyWriter::append_step(const std::string& hash, const StepRecord& step) {
  impl_->entry(hash, "append_step");
  MemoryStudyFile& image = impl_->image(hash);
  append_metrics(image.path(), image.id(), step);
  impl_->dirty[hash] = true;
  if (impl_->since_commit.seconds() >= impl_->options.step_commit_interval_s) impl_->commit_steps();
}

void StudyWriter::finish_run(const std::string& hash, const RunOutcome& outcome) {
  const std::string& path = impl_->path;
  if (!is_final(outcome.status)) {
    fail("{}: finish_run: run {}: status '{}' does not end a run", path, hash, to_string(outcome.status));
  }
  if (impl_->entry(hash, "finish_run").info.status == RunStatus::kDone) {
    fail("{}: finish_run: run {} is already done", path, hash);
  }
  // Before any write: a refused outcome leaves the run as it was (still running).
  check_tuned_state(path, hash, outcome.tuned_state);
  MemoryStudyFile& image = impl_->image(hash);
  const std::string& file = image.path();
  write_eval(file, image.id(), outcome.summary);
  write_items(file, image.id(), outcome.items);
  write_state(file, image.id(), outcome.tuned_state);
  write_attr(file, image.id(), names::kFinished, utc_now_iso());
  auto clock = impl_->attempt_clock.find(hash);
  write_attr(file, image.id(), names::kWallSeconds,
             clock != impl_->attempt_clock.end() ? clock->second.seconds() : kMissing);
  write_attr(file, image.id(), names::kMessage, outcome.message);
  write_attr(file, image.id(), names::kTunedStatePath, outcome.tuned_state_path);
  write_attr(file, image.id(), names::kBaseline, outcome.baseline);
  // Last, so that no image ever holds `done` without the run's data (the commit publishes
  // all of it at once anyway).
  write_attr(file, image.id(), names::kStatus, std::string(to_string(outcome.status)));
  impl_->commit_run(hash, /*ended=*/true, &outcome.summary);
}

std::vector<std::string> StudyWriter::mark_interrupted_running(const std::string& message) {
  impl_->publish_declared();
  std::vector<std::string> marked;
  for (const auto& [hash, entry] : impl_->catalog.runs) {
    if (entry.info.status == RunStatus::kRunning) marked.push_back(hash);
  }
  for (const auto& hash : marked) {
    MemoryStudyFile& image = impl_->image(hash);
    write_attr(image.path(), image.id(), names::kFinished, utc_now_iso());
    write_attr(image.path(), image.id(), names::kMessage, message);
    write_attr(image.path(), image.id(), names::kStatus, std::string(to_string(RunStatus::kInterrupted)));
    impl_->commit_run(hash, /*ended=*/true, nullptr);
  }
  impl_->commit_steps();
  return marked;
}

void StudyWriter::set_study_attribute(const std::string& key, const std::string& value) {
  ST_CHECK(!key.empty(), "{}: set_study_attribute: empty key", impl_->path);
  impl_->publish_declared();
  impl_->index.attributes[key] = value;
  impl_->rewrite_index();
  impl_->commit_steps();
}

void StudyWriter::flush() {
  impl_->publish_declared();
  impl_->commit_steps();
}

}  // namespace statetune::results
