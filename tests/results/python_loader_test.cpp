// results/python/statetune_results.py: a study written by the C++ writer, loaded into pandas
// by /usr/bin/python3 (what analysis notebooks do): exact values out of load_runs,
// load_steps and load_items.
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

std::string python_dir() { return std::string(STATETUNE_SOURCE_DIR_DEFAULT) + "/results/python"; }

constexpr const char* kScript = R"PY(
import sys
import statetune_results as sr
runs = sr.load_runs(sys.argv[1]).set_index("hash")
print(len(runs), runs.attrs["study_name"], runs.attrs["axes"])
print(runs["status"].tolist(), runs["method"].tolist(), runs["ranks"].tolist())
print(runs["seed"].dtype, runs["seed"].tolist(), runs["lr"].tolist(), runs["config.data.benchmark"].tolist())
print(runs.loc["aaaa000000000001", ["acc.before", "acc.after", "acc.diff", "acc_norm.after"]].tolist())
print(runs["acc.diff"].isna().tolist())
print(runs[runs.status == "done"].pivot_table(index="method", values="acc.diff").to_dict())
steps = sr.load_steps(sys.argv[1])
print(list(steps.columns))
print(steps["hash"].tolist(), steps["step"].tolist(), steps["loss"].tolist(), bool(steps["l_decor"].isna().all()))
items = sr.load_items(sys.argv[1])
print(list(items.columns), len(items))
print(items["phase"].tolist()[:3], items["correct"].tolist()[:3], items["loglik"].tolist()[:3])
empty = sys.argv[2]
print(len(sr.load_runs(empty)), len(sr.load_steps(empty)), list(sr.load_steps(empty).columns), len(sr.load_items(empty)))
)PY";

TEST(ResultsPythonLoader, LoadsRunsStepsAndItemsIntoPandas) {
  if (run_command(std::string(kPython) + " -c 'import pandas, h5py, numpy'").code != 0) {
    GTEST_SKIP() << "SKIPPED LOUDLY: " << kPython
                 << " lacks pandas/h5py/numpy (apt install python3-pandas python3-h5py python3-numpy); "
                    "results/python/statetune_results.py is untested";
  }
  const std::string dir = temp_dir("results_python_loader");
  const std::string path = dir + "/study.h5";
  {
    auto writer = StudyWriter::open(path, demo_study(), {0.0});
    const RunDescription a = demo_run("aaaa000000000001", "kernel", "0.01", "1");
    writer.begin_run(a, {2, "node1"});
    writer.append_step(a.hash, demo_step(0));
    writer.append_step(a.hash, demo_step(1));
    writer.finish_run(a.hash, demo_outcome(0.25, 0.5));
    const RunDescription b = demo_run("bbbb000000000002", "standard", "0.01", "2");
    writer.begin_run(b);
    writer.finish_run(b.hash, demo_outcome(0.25, 0.375));
    const RunDescription c = demo_run("cccc000000000003", "kernel", "0.001", "1");
    writer.begin_run(c);
    writer.append_step(c.hash, demo_step(0));
  }
  { StudyWriter::open(dir + "/empty.h5", demo_study()); }
  std::ofstream(dir + "/load.py") << kScript;

  // No __pycache__ written into the source tree.
  const CommandResult r = run_command("PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=" + python_dir() + " " + kPython + " " +
                                      dir + "/load.py " + path + " " + dir + "/empty.h5");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output,
            "3 demo ['lr', 'method', 'seed']\n"
            "['done', 'done', 'running'] ['kernel', 'standard', 'kernel'] [2, 1, 1]\n"
            "int64 [1, 2, 1] [0.01, 0.01, 0.001] ['arc_challenge', 'arc_challenge', 'arc_challenge']\n"
            "[0.25, 0.5, 0.25, 0.625]\n"
            "[False, False, True]\n"
            "{'acc.diff': {'kernel': 0.25, 'standard': 0.125}}\n"
            "['hash', 'step', 'loss', 'lr', 'grad_norm', 'l_decor', 'tokens_per_s']\n"
            "['aaaa000000000001', 'aaaa000000000001', 'cccc000000000003'] [0, 1, 0] [2.0, 1.75, 2.0] True\n"
            "['hash', 'phase', 'id', 'prediction', 'gold', 'correct', 'loglik'] 6\n"
            "['before', 'after', 'after'] [False, True, False] [[-1.5, -2.0], [-2.5, -0.5, -3.0], []]\n"
            "0 0 ['hash', 'step', 'loss', 'lr', 'grad_norm', 'l_decor', 'tokens_per_s'] 0\n");
}

}  // namespace
