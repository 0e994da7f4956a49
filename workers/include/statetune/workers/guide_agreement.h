#pragma once
// How close a student state brings the model to its guide on some examples: the mean
// KL(guide ‖ student) of the next-token distributions and the fraction of target positions
// where both pick the same argmax token. Used to judge observer / prompt -> state distillation.
#include <vector>

#include "statetune/workers/state_tuner.h"

namespace statetune::workers {

struct GuideAgreement {
  double kl = 0;         // mean over target positions
  double agreement = 0;  // argmax agreement over target positions
  int64_t positions = 0;
};

// student: the student's initial state (empty = zeros). No gradient.
GuideAgreement guide_agreement(const Rwkv7Model& student_model, const ModelState& student, const GuideTarget& guide,
                               const std::vector<TuneExample>& examples);

}  // namespace statetune::workers
