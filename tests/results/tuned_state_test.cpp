// The tuned state stored in the study (/runs/<hash>/state/<name>): it reads back bit-exact,
// a new attempt clears it, merge carries it, h5py reads it, and names HDF5 would read as
// paths are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>

#include "cli_runner.h"
#include "expect_error.h"
#include "statetune/results/merge.h"
#include "statetune/results/study_reader.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

constexpr const char* kPython = "/usr/bin/python3";

const RunDescription kA = demo_run("aaaa000000000001", "kernel", "0.01", "1");
const RunDescription kB = demo_run("bbbb000000000002", "kernel", "0.01", "2");

std::int64_t product(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

// Arbitrary bit patterns (NaNs with payloads, denormals, infinities included): what must
// come back is the same bits, not merely equal numbers.
StateTensor random_bits(const std::string& name, std::vector<std::int64_t> shape, std::uint32_t seed) {
  StateTensor t{name, std::move(shape), {}};
  std::uint32_t x = seed;
  for (std::int64_t i = 0; i < product(t.shape); ++i) {
    x = x * 1664525u + 1013904223u;
    float f;
    std::memcpy(&f, &x, sizeof f);
    t.values.push_back(f);
  }
  return t;
}

// i * 0.25 - 3: exact in float32 and in numpy, and compressible.
StateTensor ramp(const std::string& name, std::vector<std::int64_t> shape) {
  StateTensor t{name, std::move(shape), {}};
  for (std::int64_t i = 0; i < product(t.shape); ++i) t.values.push_back(static_cast<float>(i) * 0.25f - 3.0f);
  return t;
}

StateTensor special_values(const std::string& name) {
  float payload_nan;
  const std::uint32_t bits = 0x7fc12345u;
  std::memcpy(&payload_nan, &bits, sizeof payload_nan);
  return {name,
          {2, 3},
          {payload_nan, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
           std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max()}};
}

void expect_same_tensor(const StateTensor& got, const StateTensor& want) {
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.shape, want.shape) << want.name;
  ASSERT_EQ(got.values.size(), want.values.size()) << want.name;
  EXPECT_EQ(std::memcmp(got.values.data(), want.values.data(), want.values.size() * sizeof(float)), 0)
      << want.name << ": values differ in their bits";
}

// `want` in the order the reader returns: sorted by name.
void expect_state(const std::vector<StateTensor>& got, const std::vector<StateTensor>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) expect_same_tensor(got[i], want[i]);
}

RunOutcome with_state(RunStatus status, std::vector<StateTensor> state) {
  RunOutcome o = demo_outcome(0.25, 0.5);
  o.status = status;
  o.tuned_state = std::move(state);
  return o;
}

TEST(ResultsTunedState, RoundTripKeepsNamesShapesAndBits) {
  const std::string path = temp_dir("results_state_round_trip") + "/study.h5";
  // Given unsorted: a small plain tensor, compressed ones (one spanning several chunks, with
  // a leading dimension that does not divide evenly), a scalar and an empty tensor.
  const std::vector<StateTensor> given = {
      random_bits("blocks.1.att.time_state", {3, 300, 700}, 7),  // 2.5 MB: several chunks
      special_values("blocks.0.att.time_state"),                 // 24 bytes: plain
      ramp("blocks.0.att.time_state_big", {4, 32, 32}),          // 16 KiB: one chunk
      StateTensor{"emb.scale", {}, {1.5f}},                      // scalar
      StateTensor{"empty.buffer", {0, 3}, {}},
  };
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.begin_run(kA);
    writer.finish_run(kA.hash, with_state(RunStatus::kDone, given));
    writer.begin_run(kB);
    writer.finish_run(kB.hash, with_state(RunStatus::kFailed, {}));
  }
  auto reader = StudyReader::open(path);
  expect_state(reader.tuned_state(kA.hash), {given[1], given[2], given[0], given[3], given[4]});
  EXPECT_TRUE(reader.tuned_state(kB.hash).empty());
  EXPECT_EQ(reader.run(kA.hash).status, RunStatus::kDone);
  EXPECT_EQ(reader.eval_summary(kA.hash).size(), 2u);
  EXPECT_EQ(reader.run(kA.hash).tuned_state_path, "/tmp/state.pth");
}

TEST(ResultsTunedState, NewAttemptClearsTheOldState) {
  const std::string path = temp_dir("results_state_reattempt") + "/study.h5";
  const StateTensor first = ramp("blocks.0.att.time_state", {2, 64, 64});
  const StateTensor second = special_values("blocks.0.att.time_state");
  auto writer = StudyWriter::open(path, demo_study(), {0.0});
  writer.begin_run(kA);
  writer.finish_run(kA.hash, with_state(RunStatus::kDiverged, {first, ramp("head.extra", {10})}));
  expect_state(StudyReader::open(path).tuned_state(kA.hash), {first, ramp("head.extra", {10})});

  writer.begin_run(kA);  // committed at once: the file no longer holds the first attempt's state
  EXPECT_TRUE(StudyReader::open(path).tuned_state(kA.hash).empty());

  writer.finish_run(kA.hash, with_state(RunStatus::kDone, {second}));
  auto reader = StudyReader::open(path);
  expect_state(reader.tuned_state(kA.hash), {second});
  EXPECT_EQ(reader.run(kA.hash).attempts, 2);
}

TEST(ResultsTunedState, MergeCarriesTheState) {
  const std::string dir = temp_dir("results_state_merge");
  const StateTensor a_state = ramp("blocks.0.att.time_state", {4, 64, 64});
  const StateTensor b_state = random_bits("blocks.0.att.time_state", {2, 8}, 3);
  {
    auto w = StudyWriter::open(dir + "/t0.h5", demo_study());
    w.begin_run(kA);
    w.finish_run(kA.hash, with_state(RunStatus::kDone, {a_state, special_values("z.last")}));
  }
  {
    auto w = StudyWriter::open(dir + "/t1.h5", demo_study());
    w.begin_run(kB);
    w.finish_run(kB.hash, with_state(RunStatus::kDone, {b_state}));
    // The same run A, done with the same tables: an identical duplicate. Its state differs in
    // the last bits (other hardware); states are not compared and the first copy's is kept.
    StateTensor other = a_state;
    other.values[5] = std::nextafter(other.values[5], 1e9f);
    w.begin_run(kA);
    w.finish_run(kA.hash, with_state(RunStatus::kDone, {other}));
  }
  const MergeSummary summary = merge_studies({dir + "/t0.h5", dir + "/t1.h5"}, dir + "/all.h5");
  EXPECT_EQ(summary.runs, 2u);
  EXPECT_EQ(summary.duplicates, 1u);
  auto reader = StudyReader::open(dir + "/all.h5");
  expect_state(reader.tuned_state(kA.hash), {a_state, special_values("z.last")});
  expect_state(reader.tuned_state(kB.hash), {b_state});
}

TEST(ResultsTunedState, RefusesNamesAndShapesThatCannotBeStored) {
  const std::string path = temp_dir("results_state_refused") + "/study.h5";
  auto writer = StudyWriter::open(path, demo_study(), {0.0});
  writer.begin_run(kA);
  const std::string run = path + ": finish_run: run " + kA.hash + ": tuned state tensor ";
  expect_error([&] { writer.finish_run(kA.hash, with_state(RunStatus::kDone, {ramp("blocks/0.att", {4})})); },
               run + "'blocks/0.att': a name must not contain '/'");
  expect_error([&] { writer.finish_run(kA.hash, with_state(RunStatus::kDone, {ramp("", {4})})); },
               run + "'': expected a name");
  expect_error([&] { writer.finish_run(kA.hash, with_state(RunStatus::kDone, {ramp(".", {4})})); },
               run + "'.': expected a name");
  expect_error([&] { writer.finish_run(kA.hash, with_state(RunStatus::kDone, {ramp("a", {2}), ramp("a", {3})})); },
               run + "'a': given twice");
  StateTensor short_values = ramp("blocks.0.att.time_state", {2, 3});
  short_values.values.pop_back();
  expect_error([&] { writer.finish_run(kA.hash, with_state(RunStatus::kDone, {short_values})); },
               run + "'blocks.0.att.time_state': 5 values for shape [2, 3]");
  expect_error(
      [&] { writer.finish_run(kA.hash, with_state(RunStatus::kDone, {StateTensor{"neg", {-1, 2}, {}}})); },
      run + "'neg': negative dimension -1 in shape [-1, 2]");

  // Nothing of the refused outcomes was written: the run is still running, without tables,
  // and a valid outcome is still accepted afterwards.
  {
    auto reader = StudyReader::open(path);
    EXPECT_EQ(reader.run(kA.hash).status, RunStatus::kRunning);
    EXPECT_TRUE(reader.eval_summary(kA.hash).empty());
    EXPECT_TRUE(reader.tuned_state(kA.hash).empty());
  }
  writer.finish_run(kA.hash, with_state(RunStatus::kDone, {ramp("blocks.0.att.time_state", {4})}));
  expect_state(StudyReader::open(path).tuned_state(kA.hash), {ramp("blocks.0.att.time_state", {4})});
}

constexpr const char* kScript = R"PY(
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    state = f["runs/aaaa000000000001/state"]
    for name in state:
        ds = state[name]
        print(name, ds.shape, ds.dtype, ds.compression, ds.compression_opts, ds.chunks is not None)
    big = state["blocks.0.att.time_state"][...]
    want = np.arange(big.size, dtype=np.float32).reshape(big.shape) * np.float32(0.25) - np.float32(3)
    print("ramp equal", np.array_equal(big, want))
    print("special", state["blocks.1.special"][...].tobytes().hex())
    print("scalar", float(state["emb.scale"][()]))
    print("runs without state", [h for h in f["runs"] if "state" not in f["runs"][h]])
)PY";

TEST(ResultsTunedState, H5pyReadsTheState) {
  if (run_command(std::string(kPython) + " -c 'import h5py, numpy'").code != 0)
    GTEST_SKIP() << "SKIPPED: " << kPython << " with h5py and numpy is not available (apt install python3-h5py)";

  const std::string dir = temp_dir("results_state_h5py");
  const std::string path = dir + "/study.h5";
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.begin_run(kA);
    writer.finish_run(kA.hash, with_state(RunStatus::kDone, {ramp("blocks.0.att.time_state", {4, 64, 64}),
                                                             special_values("blocks.1.special"),
                                                             StateTensor{"emb.scale", {}, {1.5f}}}));
    writer.begin_run(kB);
  }
  std::ofstream(dir + "/read.py") << kScript;
  const CommandResult result = run_command(std::string(kPython) + " " + dir + "/read.py " + path);
  ASSERT_EQ(result.code, 0) << result.output;
  // Little-endian float32 bytes of special_values(): NaN 0x7fc12345, -0, inf, -inf,
  // the smallest denormal, FLT_MAX.
  EXPECT_EQ(result.output,
            "blocks.0.att.time_state (4, 64, 64) float32 gzip 4 True\n"
            "blocks.1.special (2, 3) float32 None None False\n"
            "emb.scale () float32 None None False\n"
            "ramp equal True\n"
            "special 4523c17f000000800000807f000080ff01000000ffff7f7f\n"
            "scalar 1.5\n"
            "runs without state ['bbbb000000000002']\n");
}

}  // namespace
