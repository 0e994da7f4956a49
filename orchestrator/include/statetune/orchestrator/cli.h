#pragma once
// The statetune command line: parses argv, runs one subcommand, maps errors to exit codes.

namespace statetune::orchestrator {

// Returns the process exit code: 0 success, 1 a statetune::Error (message printed on one
// line), 2 a usage error (CLI11 prints it).
int run_cli(int argc, char** argv);

}  // namespace statetune::orchestrator
