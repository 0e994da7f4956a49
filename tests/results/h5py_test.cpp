// The layout is readable from Python with h5py (what analysis notebooks use): a study
// written by the C++ writer is read back by a small /usr/bin/python3 script.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_runner.h"
#include "statetune/results/study_writer.h"
#include "study_fixture.h"
#include "test_paths.h"

namespace {

using namespace statetune::results;
using namespace statetune::testing;

constexpr const char* kPython = "/usr/bin/python3";

constexpr const char* kScript = R"PY(
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    print("format", int(f.attrs["format_version"]), f.attrs["study_name"], f["study"].attrs["slurm_job_ids"])
    for h in sorted(f["runs"]):
        r = f["runs"][h]
        axes = ",".join(k + "=" + r["axes"].attrs[k] for k in sorted(r["axes"].attrs))
        print("run", h, r.attrs["status"], r.attrs["method"], axes, int(r.attrs["ranks"]))
        if "metrics" in r:
            m = r["metrics"]
            print("steps", [int(s) for s in m["step"][:]], [float(x) for x in m["loss"][:]], m["step"].chunks)
        if "eval" in r:
            e = r["eval"]
            print("eval", list(e["name"].asstr()[:]), [float(x) for x in e["before"][:]], [float(x) for x in e["after"][:]])
            it = r["items"]
            print("items", list(it["phase"].asstr()[:]), list(it["id"].asstr()[:]), [int(c) for c in it["correct"][:]],
                  it["loglik"].shape, float(it["loglik"][1, 1]))
)PY";

TEST(ResultsPython, H5pyReadsTheLayout) {
  if (run_command(std::string(kPython) + " -c 'import h5py'").code != 0)
    GTEST_SKIP() << "SKIPPED: " << kPython << " with h5py is not available (apt install python3-h5py)";

  const std::string dir = temp_dir("results_h5py");
  const std::string path = dir + "/study.h5";
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    writer.set_study_attribute("slurm_job_ids", "123");
    const RunDescription a = demo_run("aaaa000000000001", "kernel", "0.01", "1");
    writer.begin_run(a, {2, "node1"});
    writer.append_step(a.hash, demo_step(0));
    writer.append_step(a.hash, demo_step(1));
    writer.finish_run(a.hash, demo_outcome(0.25, 0.5));
    writer.begin_run(demo_run("bbbb000000000002", "standard", "0.01", "1"));
  }
  std::ofstream(dir + "/read.py") << kScript;
  const CommandResult result = run_command(std::string(kPython) + " " + dir + "/read.py " + path);
  ASSERT_EQ(result.code, 0) << result.output;
  EXPECT_EQ(result.output,
            "format 2 demo 123\n"
            "run aaaa000000000001 done kernel lr=0.01,method=kernel,seed=1 2\n"
            "steps [0, 1] [2.0, 1.75] (64,)\n"
            "eval ['acc', 'acc_norm'] [0.25, 0.375] [0.5, 0.625]\n"
            "items ['before', 'after', 'after'] ['q1', 'q1', 'q2'] [0, 1, 0] (3, 3) -0.5\n"
            "run bbbb000000000002 running standard lr=0.01,method=standard,seed=1 1\n");
}

}  // namespace
