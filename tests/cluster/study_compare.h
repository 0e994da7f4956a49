#pragma once
// Reading a study file's results per run hash and comparing two studies (the Slurm
// end-to-end tests: a submitted study against the same study run directly).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "statetune/results/study_reader.h"

namespace statetune::testing {

// What a run's result is made of, except timings and where it ran.
struct StudyRun {
  std::string status;
  std::int64_t attempts = 0;
  std::vector<std::int64_t> steps;  // the step numbers of the loss curve, as stored
  std::vector<double> losses;
  std::map<std::string, std::pair<double, double>> metrics;  // name -> (before, after)
};

// hash -> run, for every run of the study file.
inline std::map<std::string, StudyRun> read_study_runs(const std::string& path) {
  std::map<std::string, StudyRun> out;
  const auto reader = results::StudyReader::open(path);
  for (const results::RunInfo& info : reader.runs()) {
    StudyRun r;
    r.status = std::string(results::to_string(info.status));
    r.attempts = info.attempts;
    for (const auto& s : reader.metrics(info.description.hash)) {
      r.steps.push_back(s.step);
      r.losses.push_back(s.loss);
    }
    for (const auto& m : reader.eval_summary(info.description.hash)) r.metrics[m.name] = {m.before, m.after};
    out[info.description.hash] = r;
  }
  return out;
}

inline bool near_relative(double a, double b, double rel) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::abs(a - b) <= rel * std::max(std::abs(a), std::abs(b));
}

// Every run of `reference` is in `got` (and no other), both done, with the same loss curve
// (step for step) and the same eval metrics within `rel` relative.
inline void expect_same_study_results(const std::map<std::string, StudyRun>& reference,
                                      const std::map<std::string, StudyRun>& got, double rel) {
  EXPECT_EQ(reference.size(), got.size()) << "the studies hold different numbers of runs";
  for (const auto& [hash, want] : reference) {
    const auto it = got.find(hash);
    if (it == got.end()) {
      ADD_FAILURE() << "run " << hash << " is missing";
      continue;
    }
    const StudyRun& have = it->second;
    EXPECT_EQ(want.status, "done") << "reference run " << hash;
    EXPECT_EQ(have.status, "done") << "run " << hash;
    EXPECT_EQ(want.steps, have.steps) << "run " << hash << ": the loss curves have other steps";
    if (want.losses.size() != have.losses.size()) continue;
    for (std::size_t i = 0; i < want.losses.size(); ++i) {
      EXPECT_PRED3(near_relative, want.losses[i], have.losses[i], rel) << "run " << hash << " loss at step " << i;
    }
    EXPECT_FALSE(want.metrics.empty()) << "reference run " << hash << " has no eval metrics";
    EXPECT_EQ(want.metrics.size(), have.metrics.size()) << "run " << hash;
    for (const auto& [name, values] : want.metrics) {
      const auto m = have.metrics.find(name);
      if (m == have.metrics.end()) {
        ADD_FAILURE() << "run " << hash << ": eval metric " << name << " is missing";
        continue;
      }
      EXPECT_PRED3(near_relative, values.first, m->second.first, rel) << "run " << hash << " " << name << " before";
      EXPECT_PRED3(near_relative, values.second, m->second.second, rel) << "run " << hash << " " << name << " after";
    }
  }
  for (const auto& [hash, run] : got) {
    if (!reference.count(hash)) ADD_FAILURE() << "run " << hash << " (" << run.status << ") is not in the reference";
  }
}

}  // namespace statetune::testing
