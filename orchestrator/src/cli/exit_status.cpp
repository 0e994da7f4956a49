#include "statetune/orchestrator/commands.h"

namespace statetune::orchestrator {
namespace {
int g_exit_status = 0;
}  // namespace

void set_exit_status(int code) { g_exit_status = code; }
int exit_status() { return g_exit_status; }

}  // namespace statetune::orchestrator
