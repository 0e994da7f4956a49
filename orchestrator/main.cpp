// statetune: the command-line entry point. All subcommands live in orchestrator/src.
#include "statetune/orchestrator/cli.h"

int main(int argc, char** argv) { return statetune::orchestrator::run_cli(argc, argv); }
