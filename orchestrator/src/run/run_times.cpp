#include "run/run_times.h"

#include <mutex>

namespace statetune::orchestrator {
namespace {

std::mutex g_mu;
ProcessTimes g_times;

}  // namespace

void add_to_process_times(const RunTimes& t) {
  std::lock_guard<std::mutex> lock(g_mu);
  RunTimes& s = g_times.sums;
  s.load += t.load;
  s.guide_text += t.guide_text;
  s.calibration += t.calibration;
  s.eval_before += t.eval_before;
  s.steps += t.steps;
  s.save += t.save;
  s.eval_after += t.eval_after;
  s.questions += t.questions;
  g_times.runs += 1;
}

ProcessTimes process_times() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_times;
}

}  // namespace statetune::orchestrator
