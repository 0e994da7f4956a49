// sweeps/examples/paper_table.yaml's header, run as written against a loopback server that
// serves small upstream-format copies of its inputs (paper_table_fixtures.py): fetch, plan,
// the sweep under mpirun, submit (a dry run: no Slurm here) and the paper's report.
//
// What differs from a user's run, and why: the commands run in a scratch folder (so paper.h5
// lands there) with the example's and the cluster profile's paths made absolute; `-np 8`
// becomes `-np 2` (two cores); plan/sweep/submit get overrides that make the 48 runs tiny
// (a few steps, a few items); the models are small random ones; the catalogue is the
// fixtures' (STATETUNE_FETCH_CATALOG) and the cache a scratch folder (STATETUNE_CACHE).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "cli_runner.h"
#include "fetch/loopback_server.h"
#include "test_paths.h"

namespace {

using namespace statetune::testing;

const char* kTiny =
    " steps=2 warmup_steps=0 batch=2 data.train_limit=4 data.eval_limit=3 max_tokens=256 M=8"
    " calibration_examples=2 tts_steps=1 tts_guide_tokens=4";

std::string source_dir() { return std::string(STATETUNE_SOURCE_DIR_DEFAULT); }

// The header's command lines ("#   statetune ...", "#   mpirun ..."), in order.
std::vector<std::string> header_commands() {
  std::ifstream in(source_dir() + "/sweeps/examples/paper_table.yaml");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line) && line.rfind("#", 0) == 0;) {
    static const std::regex command(R"(^#\s+((statetune|mpirun) .*)$)");
    std::smatch m;
    if (std::regex_match(line, m, command)) out.push_back(m[1]);
  }
  return out;
}

}  // namespace

TEST(PaperTableCli, TheHeadersCommandsWorkAsWrittenAgainstFetchedData) {
  const std::string shared = shared_path("data");
  if (!std::filesystem::exists(shared + "/benchmarks/mmlu")) GTEST_SKIP() << "SKIPPED LOUDLY: " << shared << " is absent";
  const std::string dir = temp_dir("paper_table_cli");
  const std::string served = dir + "/served";
  std::filesystem::create_directories(served);
  ASSERT_EQ(run_statetune("init-model --layers 1 --dim 64 --vocab 65536 --seed 1 --out " + dir + "/m15.pth").code, 0);
  ASSERT_EQ(run_statetune("init-model --layers 2 --dim 64 --vocab 65536 --seed 2 --out " + dir + "/m29.pth").code, 0);
  LoopbackServer server(served, dir + "/requests.jsonl");
  const CommandResult fixtures =
      run_command("python3 " + source_dir() + "/tests/cli/paper_table_fixtures.py " + shared + " " + served + " " +
                  server.url("files/") + " " + dir + "/catalog.json " + dir + "/m15.pth " + dir + "/m29.pth");
  ASSERT_EQ(fixtures.code, 0) << fixtures.output;

  const std::string env = "cd " + dir + " && STATETUNE_CACHE=" + dir + "/cache STATETUNE_FETCH_CATALOG=" + dir +
                          "/catalog.json OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  auto as_run_here = [&](std::string command) {
    command = replace_all(command, "sweeps/examples/paper_table.yaml", source_dir() + "/sweeps/examples/paper_table.yaml");
    command = replace_all(command, "cluster/examples/", source_dir() + "/cluster/examples/");
    command = replace_all(command, "mpirun -np 8 statetune ", "mpirun --oversubscribe -np 2 " + statetune_binary() + " ");
    if (command.rfind("statetune ", 0) == 0) command = statetune_binary() + command.substr(9);
    const bool runs = command.find(" plan ") != std::string::npos || command.find(" sweep ") != std::string::npos ||
                      command.find(" submit ") != std::string::npos;
    if (runs) command += kTiny;
    if (command.find(" submit ") != std::string::npos) command += " --dry-run";
    return env + command;
  };

  const std::vector<std::string> commands = header_commands();
  ASSERT_EQ(commands.size(), 5u) << "fetch, plan, mpirun sweep, submit, report";
  // Before fetching, a sweep is refused before any work, saying what to fetch.
  const CommandResult early = run_command(as_run_here(commands[2]));
  EXPECT_NE(early.code, 0) << early.output;
  EXPECT_NE(early.output.find("statetune fetch"), std::string::npos) << early.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/paper.h5"));

  std::string report;
  for (const std::string& command : commands) {
    const CommandResult r = run_command(as_run_here(command));
    ASSERT_EQ(r.code, 0) << command << "\n" << r.output;
    if (command.rfind("statetune report", 0) == 0) report = r.output;
    if (command.rfind("statetune fetch", 0) == 0) {
      EXPECT_NE(r.output.find("sha256"), std::string::npos) << r.output;  // the unpinned files' recorded hashes
    }
  }
  // The paper's layout: the untuned model, then the methods as the sweep lists them; the
  // benchmarks in the sweep's order; every cell filled.
  const size_t table = report.find("pivot: score after tuning");
  ASSERT_NE(table, std::string::npos) << report;
  std::istringstream lines(report.substr(table));
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  ASSERT_GE(rows.size(), 7u) << report;
  EXPECT_TRUE(std::regex_search(rows[1], std::regex(R"(^method \\ data\.benchmark +mmlu +gsm8k +winogrande +arc_challenge$)")))
      << rows[1];
  const char* order[] = {"\\(before tuning\\)", "standard", "kernel", "dbp", "tts"};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(std::regex_search(rows[2 + i], std::regex(std::string("^") + order[i] +
                                                          R"( +[01]\.\d{4} +[01]\.\d{4} +[01]\.\d{4} +[01]\.\d{4}$)")))
        << rows[2 + i];
  }
  // Every run of the plan is done in the study the header's sweep wrote.
  const CommandResult plan = run_command(as_run_here(commands[1]) + " --out paper.h5");
  EXPECT_NE(plan.output.find("status: done 48\n"), std::string::npos) << plan.output;
  std::printf("%s", report.substr(table).c_str());  // the table, for the log
  // Flags name fetched things too; eval's split defaults to the fetched benchmark's test split.
  const CommandResult eval = run_command(env + statetune_binary() +
                                         " eval --model rwkv7-world-1.5b --vocab rwkv-world-vocab --benchmark "
                                         "arc_challenge --num-fewshot 2 --limit 2 --write-out 1");
  EXPECT_EQ(eval.code, 0) << eval.output;
  EXPECT_NE(eval.output.find("benchmark arc_challenge: 2 items, 2-shot"), std::string::npos) << eval.output;
  const CommandResult unknown = run_command(env + statetune_binary() +
                                            " eval --model rwkv7-world-9b --vocab rwkv-world-vocab --benchmark mmlu");
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.output.find("rwkv7-world-9b"), std::string::npos) << unknown.output;
}
