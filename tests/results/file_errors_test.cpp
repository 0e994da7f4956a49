// Files that are not study files, or from a newer statetune, give one-line errors naming them.
#include <gtest/gtest.h>

#include <fstream>

#include "expect_error.h"
#include "statetune/common/file_io.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

TEST(ResultsFileErrors, MissingFile) {
  const std::string path = temp_dir("results_missing") + "/nope.h5";
  expect_error([&] { StudyReader::open(path); }, path + ": no such file");
}

TEST(ResultsFileErrors, NotHdf5) {
  const std::string path = temp_dir("results_not_hdf5") + "/text.h5";
  std::ofstream(path) << "this is not HDF5\n";
  expect_error([&] { StudyReader::open(path); }, path + ": not an HDF5 file");
  expect_error([&] { StudyWriter::open(path, demo_study()); }, path + ": not an HDF5 file");
}

TEST(ResultsFileErrors, DirectoryIsNotAFile) {
  const std::string dir = temp_dir("results_dir");
  expect_error([&] { StudyReader::open(dir); }, dir + ": not a regular file");
}

// Bumps the root attribute format_version from 2 to 3 in the file's bytes. The root group's
// object header (HDF5's default, oldest format) has no checksum, so the patched file is a
// valid HDF5 file written "by a newer statetune". The attribute message is: name, datatype,
// dataspace (scalar, version 1: 01 00 00 00 00 00 00 00), then the int64 value.
void bump_format_version(const std::string& path) {
  std::string bytes = statetune::read_file_bytes(path);
  const std::size_t name = bytes.find(std::string("format_version\0", 15));
  ASSERT_NE(name, std::string::npos);
  const std::string one("\x01\0\0\0\0\0\0\0", 8), two("\x02\0\0\0\0\0\0\0", 8);
  const std::size_t dataspace = bytes.find(one, name);
  ASSERT_NE(dataspace, std::string::npos);
  const std::size_t value = dataspace + one.size();
  ASSERT_EQ(bytes.compare(value, two.size(), two), 0) << "unexpected attribute encoding";
  ASSERT_LT(value - name, 96u);
  bytes[value] = 3;
  statetune::write_file_atomic(path, bytes);
}

TEST(ResultsFileErrors, CorruptFileNamesTheFailingHdf5Call) {
  const std::string path = temp_dir("results_corrupt") + "/study.h5";
  { StudyWriter::open(path, demo_study()); }
  std::string bytes = statetune::read_file_bytes(path);
  for (std::size_t i = 800; i < bytes.size(); i += 7) bytes[i] = '\xff';  // keep the superblock
  statetune::write_file_atomic(path, bytes);
  expect_error([&] { StudyReader::open(path); }, path + ": HDF5 call H");
}

TEST(ResultsFileErrors, NewerFormatVersionIsRefused) {
  const std::string path = temp_dir("results_newer") + "/study.h5";
  { StudyWriter::open(path, demo_study()); }
  bump_format_version(path);
  expect_error([&] { StudyReader::open(path); }, path + ": study format version 3 is newer than this statetune");
  expect_error([&] { StudyWriter::open(path, demo_study()); }, "format version 3 is newer");
}

TEST(ResultsFileErrors, AnotherStudyOrSweepIsRefused) {
  const std::string path = temp_dir("results_other_study") + "/study.h5";
  { StudyWriter::open(path, demo_study()); }
  StudyInfo other = demo_study();
  other.name = "other";
  expect_error([&] { StudyWriter::open(path, other); }, path + ": the file holds study 'demo', not 'other'");
  other = demo_study();
  other.sweep_yaml += "  seed: [1, 2]\n";
  expect_error([&] { StudyWriter::open(path, other); }, "written by a different sweep");
}

}  // namespace
