#pragma once
// Subcommand registry. Each subcommand lives in its own file (cmd_<name>.cpp) and provides
// add_<name>_command(CLI::App&), which adds the subcommand and a callback that runs it.
// Callbacks throw statetune::Error for bad input; run_cli maps that to exit code 1.
#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
class Validator;
class Option;
}

namespace statetune::orchestrator {

using AddCommand = std::function<void(CLI::App&)>;

// Every subcommand's adder, in the order --help lists them.
std::vector<AddCommand> all_commands();

// Runs the callback that the selected subcommand registered (see command_runner below).
void run_selected(CLI::App& sub);

// Registers the body of a subcommand; run_selected calls it after parsing succeeded.
void set_command_body(CLI::App& sub, std::function<void()> body);

// --threads N for a subcommand: defaults to the cores this process may use; applied to
// torch (intra-op) before the body runs.
void add_threads_option(CLI::App& sub, int* threads);

// Check for options that count something (steps, tokens, threads): a whole number >= 1. CLI11's
// PositiveNumber accepts fractions and reports a range up to 1.8e308.
CLI::Validator positive_count();
// A model flag (--model, --guide): an RWKV-7 checkpoint, or a name of `statetune fetch --list`
// made into the cached file's path (an error says what to fetch). `whose`: "" or "The guide's ".
CLI::Option* add_model_option(CLI::App& sub, const std::string& flag, std::string* model, const std::string& whose = "");
// --vocab: the vocabulary file, or rwkv-world-vocab (fetched); `note` says more ("" for none).
CLI::Option* add_vocab_option(CLI::App& sub, std::string* vocab, const std::string& note = "");
void apply_threads(int threads);

// A command that ends without an error but not fully successfully (e.g. `sweep` stopped by a
// signal: 3) sets the process exit code here; run_cli returns it. Default 0.
void set_exit_status(int code);
int exit_status();

}  // namespace statetune::orchestrator
