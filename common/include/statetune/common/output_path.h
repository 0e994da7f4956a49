#pragma once
// Output paths checked before any work: a command that tunes for an hour and then cannot write
// its result has lost the hour. Every command that writes a file calls one of these first.
// Errors are one line, "<what> <path>: <problem>", e.g.
//   run.yaml: output /data/x.txt/state.pth: /data/x.txt is a file, not a folder
#include <string>

namespace statetune {

// Creates the folders `path` needs (its parent and above) and checks, by creating and removing
// a probe file there, that a file can be written in its folder. `path` itself may exist (it is
// replaced) but must not be a folder. Throws statetune::Error otherwise.
void prepare_output_path(const std::string& path, const std::string& what);

// The same for a folder that is itself the output (its files are named by the command).
void prepare_output_folder(const std::string& folder, const std::string& what);

// What prepare_output_path checks, creating nothing: the nearest existing folder up the path
// (where the missing ones would be made) must be a folder a file can be created in. For
// outputs written later, once their run has loaded (a run that fails to load leaves no
// folders behind).
void check_output_path(const std::string& path, const std::string& what);

}  // namespace statetune
