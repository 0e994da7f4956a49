// Observer tuning (METHOD.md §4, `target: guide`) on the problem with a known optimum: the
// guide is the frozen model itself reading a prefix; the student learns it through its state
// alone. Through the guide interface in both forms: an RWKV guide (StateTuner's GuideTarget,
// KL to its distributions) and traces (the guide's own sampled text, cross-entropy on it, as
// trace files without log-probs give).
#include <gtest/gtest.h>

#include "distillation.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/state_tuner.h"

namespace statetune::workers {
namespace {

TuneOptions observer_options(int64_t steps, int64_t batch) {
  TuneOptions o;
  o.method = TuneMethod::kStandard;
  o.lr = 0.3;
  o.trainer.steps = steps;
  o.batch = batch;
  o.seed = 3;
  return o;
}

TEST(Observer, RwkvGuideFormRecoversThePrefixStateLikeTheRecoveryTest) {
  Distillation d(21);
  GuideTarget guide;
  guide.model = &d.model;
  guide.state = d.model.prompt_state(d.prefix);
  LocalCommunicator comm;
  TuneData data;
  data.train = d.train;
  StateTuner tuner(d.model, observer_options(kRecoverySteps, static_cast<int64_t>(d.train.size())), data, comm, &guide);
  const TrainResult r = tuner.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(tuner.state());
  std::printf("observer (RWKV guide): agreement %.3f, KL %.4f -> %.4f\n", after, r.history.front().loss,
              r.history.back().loss);
  EXPECT_GE(after, kRecoveryAgreement);
}

// A guide's trace of a question: what it writes (sampled) after reading the prefix and the
// question. No gold answer exists here at all; the student sees only the guide's text.
TuneExample guide_trace(const Distillation& d, const ModelState& guide_state, const TuneExample& question,
                        int tokens, uint64_t seed) {
  GenerationOptions g;
  g.max_tokens = tokens;
  g.temperature = 1.0;  // sampled traces cover the guide's distribution; greedy ones overfit
  g.top_p = 1.0;
  g.seed = seed;
  g.stop_token = -1;  // a fixed length: token 0 is just a token here
  const std::vector<int64_t> text = generate(d.model, question.tokens, guide_state, g, {});
  TuneExample e{question.tokens, std::vector<uint8_t>(question.tokens.size(), 0)};
  for (int64_t id : text) {
    e.tokens.push_back(id);
    e.is_target.push_back(1);
  }
  return e;
}

constexpr uint64_t kTracesPerQuestion = 16;

TEST(Observer, TraceFormLearnsTheGuidesBehaviourFromItsTextAlone) {
  Distillation d(21);
  const ModelState guide_state = d.model.prompt_state(d.prefix);
  TuneData data;
  for (uint64_t k = 0; k < kTracesPerQuestion; ++k)
    for (const TuneExample& q : d.train) data.train.push_back(guide_trace(d, guide_state, q, 24, k * 100 + data.train.size()));
  LocalCommunicator comm;
  StateTuner tuner(d.model, observer_options(2 * kRecoverySteps, 48), data, comm);
  TunedState zero(d.model.config(), false);
  const double before = d.agreement(zero);
  const TrainResult r = tuner.run(false);
  ASSERT_EQ(r.status, TrainStatus::kDone) << r.message;
  const double after = d.agreement(tuner.state());
  std::printf("observer (trace, CE on the guide's sampled text): agreement %.3f -> %.3f, CE %.4f -> %.4f\n", before,
              after, r.history.front().loss, r.history.back().loss);
  EXPECT_LT(r.history.back().loss, r.history.front().loss);
  EXPECT_GE(after, kObserverTraceAgreement);
}

}  // namespace
}  // namespace statetune::workers
