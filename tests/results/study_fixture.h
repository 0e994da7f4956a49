#pragma once
// Small, fully known study contents for the results tests.
#include <string>
#include <vector>

#include "statetune/results/records.h"

namespace statetune::testing {

inline results::StudyInfo demo_study() { return {"demo", "name: demo\ngrid:\n  lr: [0.01]\n", "0.1.0 (test)"}; }

// A run described the way sweeps would: the canonical text is the config's identity.
inline results::RunDescription demo_run(const std::string& hash, const std::string& method, const std::string& lr,
                                        const std::string& seed) {
  results::RunDescription d;
  d.hash = hash;
  d.method = method;
  d.canonical_text = "lr: " + lr + "\nmethod: \"" + method + "\"\nseed: " + seed + "\n";
  d.config_yaml = "lr: " + lr + "\nmethod: " + method + "\nseed: " + seed + "\n";
  d.axes = {{"lr", lr}, {"method", method}, {"seed", seed}};
  d.config = {{"lr", lr}, {"method", method}, {"seed", seed}, {"data.benchmark", "arc_challenge"}};
  return d;
}

inline results::StepRecord demo_step(std::int64_t step) {
  results::StepRecord s;
  s.step = step;
  s.loss = 2.0 - 0.25 * static_cast<double>(step);
  s.lr = 0.01;
  s.grad_norm = 1.5;
  s.tokens_per_s = 1000.0 + static_cast<double>(step);
  return s;  // l_decor stays missing (NaN): not a dbp run
}

inline results::RunOutcome demo_outcome(double before, double after) {
  results::RunOutcome o;
  o.status = results::RunStatus::kDone;
  o.summary = {{"acc", before, after}, {"acc_norm", before + 0.125, after + 0.125}};
  o.items = {{"before", "q1", "0", "1", false, {-1.5, -2.0}},
             {"after", "q1", "1", "1", true, {-2.5, -0.5, -3.0}},
             {"after", "q2", "42", "41", false, {}}};
  o.tuned_state_path = "/tmp/state.pth";
  return o;
}

}  // namespace statetune::testing
