#pragma once
// Running the Slurm commands (sbatch, scontrol, squeue, scancel): argv in, exit status and
// both output streams out. No shell is involved, so arguments need no quoting.
#include <optional>
#include <string>
#include <vector>

namespace statetune::cluster {

struct ProcessResult {
  int exit_code = -1;  // -1 when the program did not exit normally (killed by a signal)
  std::string out;
  std::string err;

  bool ok() const { return exit_code == 0; }
};

// The absolute path of `program` found on PATH (or `program` itself when it holds a '/'
// and is executable); nullopt when absent.
std::optional<std::string> find_program(const std::string& program);

// Runs argv[0] (looked up on PATH) with the rest as its arguments and waits for it. Throws
// statetune::Error when it cannot be started (e.g. not installed), naming the program.
ProcessResult run_process(const std::vector<std::string>& argv);

// "sbatch --parsable job.sbatch": argv as one line, for messages.
std::string command_line(const std::vector<std::string>& argv);

// The text of a program's stderr (or stdout when stderr is empty) as one line: lines joined
// with "; ", surrounding blanks trimmed. For error messages, which are one line.
std::string one_line(const ProcessResult& result);

}  // namespace statetune::cluster
