// The study store of format 2 (layout.h): a commit rewrites its run's file and appends to the
// journal, nothing else; a torn journal line is ignored, then cut off; a study moves with its
// folder; format 1 files are still read, and `merge` converts them.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "expect_error.h"
#include "statetune/common/file_io.h"
#include "statetune/results/layout.h"
#include "statetune/results/merge.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;
namespace fs = std::filesystem;

const RunDescription kA = demo_run("aaaa000000000001", "kernel", "0.01", "1");
const RunDescription kB = demo_run("bbbb000000000002", "kernel", "0.01", "2");

// A rewritten file is a new inode (temporary + rename); an untouched one keeps its own.
ino_t inode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

std::uintmax_t size_of(const std::string& path) { return fs::file_size(path); }

TEST(ResultsStore, ACommitRewritesOnlyItsRunAndAppendsToTheJournal) {
  const std::string path = temp_dir("results_store_commit") + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study());
  writer.declare_run(kA);
  writer.declare_run(kB);
  writer.begin_run(kA);
  writer.finish_run(kA.hash, demo_outcome(0.25, 0.5));
  const ino_t index = inode(path), run_a = inode(path + ".runs/" + kA.hash + ".h5");
  const ino_t journal = inode(path + ".runs/journal.jsonl");
  const auto journal_size = size_of(path + ".runs/journal.jsonl");

  writer.begin_run(kB);
  writer.append_step(kB.hash, demo_step(0));
  writer.finish_run(kB.hash, demo_outcome(0.25, 0.75));
  EXPECT_EQ(inode(path), index) << "the index was rewritten for a status change";
  EXPECT_EQ(inode(path + ".runs/" + kA.hash + ".h5"), run_a) << "another run's file was rewritten";
  EXPECT_EQ(inode(path + ".runs/journal.jsonl"), journal) << "the journal was rewritten, not appended to";
  EXPECT_GT(size_of(path + ".runs/journal.jsonl"), journal_size);

  // Adding a run is what rewrites the index.
  writer.begin_run(demo_run("cccc000000000003", "standard", "0.01", "1"));
  EXPECT_NE(inode(path), index);
  EXPECT_EQ(StudyReader::open(path).hashes().size(), 3u);
}

TEST(ResultsStore, ATornJournalLineIsIgnoredThenCutOff) {
  const std::string path = temp_dir("results_store_torn") + "/study.h5";
  {
    auto writer = StudyWriter::open(path, demo_study());
    writer.begin_run(kA);
    writer.finish_run(kA.hash, demo_outcome(0.25, 0.5));
  }
  const std::string journal = path + ".runs/journal.jsonl";
  const auto whole = size_of(journal);
  statetune::append_file(journal, R"({"run": "aaaa000000000001", "status": "fail)");  // killed mid-append
  EXPECT_EQ(StudyReader::open(path).run(kA.hash).status, RunStatus::kDone);
  EXPECT_EQ(StudyReader::open(path).statuses().at(kA.hash), RunStatus::kDone);
  {
    auto writer = StudyWriter::open(path, demo_study());
    EXPECT_EQ(size_of(journal), whole) << "the next writer did not cut the torn line off";
    writer.begin_run(kB);
    writer.finish_run(kB.hash, demo_outcome(0.25, 0.75));
  }
  EXPECT_EQ(StudyReader::open(path).finished_hashes().size(), 2u);
}

TEST(ResultsStore, AMalformedJournalLineIsAnErrorNamingTheLine) {
  const std::string path = temp_dir("results_store_bad_line") + "/study.h5";
  { StudyWriter::open(path, demo_study()).begin_run(kA); }
  statetune::append_file(path + ".runs/journal.jsonl", "not json\n");
  expect_error([&] { StudyReader::open(path); }, path + ".runs/journal.jsonl: line 3: not a journal record");
}

TEST(ResultsStore, AStudyMovesWithItsFolder) {
  const std::string dir = temp_dir("results_store_move");
  {
    auto writer = StudyWriter::open(dir + "/a/study.h5", demo_study());
    writer.begin_run(kA);
    writer.finish_run(kA.hash, demo_outcome(0.25, 0.5));
  }
  fs::rename(dir + "/a", dir + "/b");
  const auto reader = StudyReader::open(dir + "/b/study.h5");
  EXPECT_EQ(reader.eval_summary(kA.hash).size(), 2u);
  EXPECT_EQ(reader.items(kA.hash).size(), 3u);
}

TEST(ResultsStore, RunFilesWithoutTheirStudyAreRefused) {
  const std::string path = temp_dir("results_store_orphan") + "/study.h5";
  { StudyWriter::open(path, demo_study()).begin_run(kA); }
  fs::remove(path);
  expect_error([&] { StudyWriter::open(path, demo_study()); },
               path + ".runs: holds the runs of a study whose file " + path + " is missing");
  expect_error([&] { StudyReader::open(path); }, path + ": no such file");
}

TEST(ResultsStore, AStudyWithoutItsRunFolderIsAClearError) {
  const std::string path = temp_dir("results_store_no_folder") + "/study.h5";
  { StudyWriter::open(path, demo_study()).begin_run(kA); }
  fs::remove_all(path + ".runs");
  expect_error([&] { StudyWriter::open(path, demo_study()); }, path + ".runs: missing");
  expect_error([&] { StudyReader::open(path); }, path + ".runs/journal.jsonl: missing");
}

std::string format1_fixture() { return std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/tests/results/data/format1_study.h5"; }

TEST(ResultsStore, Format1FilesAreReadAndMergeConvertsThem) {
  const auto old = StudyReader::open(format1_fixture());
  EXPECT_EQ(old.header().format_version, 1);
  ASSERT_EQ(old.finished_hashes().size(), 2u);
  const std::string dir = temp_dir("results_store_format1");
  const std::string copy = dir + "/old.h5";
  fs::copy_file(format1_fixture(), copy);
  expect_error([&] { StudyWriter::open(copy, old.header().info); }, "written by an older statetune (study format 1");

  merge_studies({copy}, dir + "/new.h5");
  const auto now = StudyReader::open(dir + "/new.h5");
  EXPECT_EQ(now.header().format_version, kFormatVersion);
  EXPECT_EQ(now.header().info.sweep_yaml, old.header().info.sweep_yaml);
  ASSERT_EQ(now.hashes(), old.hashes());
  for (const auto& hash : old.hashes()) {
    const RunInfo a = old.run(hash), b = now.run(hash);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.attempts, b.attempts);
    EXPECT_EQ(a.started, b.started);
    EXPECT_EQ(a.description.canonical_text, b.description.canonical_text);
    EXPECT_EQ(a.description.config, b.description.config);
    ASSERT_EQ(old.metrics(hash).size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(old.metrics(hash)[i].loss, now.metrics(hash)[i].loss);
    ASSERT_EQ(old.eval_summary(hash).size(), now.eval_summary(hash).size());
    EXPECT_EQ(old.eval_summary(hash)[0].after, now.eval_summary(hash)[0].after);
    EXPECT_EQ(old.items(hash).size(), now.items(hash).size());
    const auto state_a = old.tuned_state(hash), state_b = now.tuned_state(hash);
    ASSERT_FALSE(state_a.empty());
    ASSERT_EQ(state_a.size(), state_b.size());
    for (std::size_t t = 0; t < state_a.size(); ++t) EXPECT_EQ(state_a[t].values, state_b[t].values);
  }
  // The converted study resumes.
  auto writer = StudyWriter::open(dir + "/new.h5", now.header().info);
  EXPECT_TRUE(writer.mark_interrupted_running().empty());
}

}  // namespace
