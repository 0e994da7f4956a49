#pragma once
// Test-time scaling (`method: tts`, METHOD.md §4): per test question, a few Adam steps on a
// copy of the student's state under a guide's guidance, then the question is answered from
// the adapted state and the copy is discarded.
//
//   distill    the guide wrote a chain of thought for the question; the student's state is
//              tuned so that, reading the question, it predicts that thought: KL(guide ‖
//              student) with the guide's distributions (full or top-k), cross-entropy on the
//              thought's tokens without them (tts_distill.h);
//   reinforce  each step the student samples `samples` continuations of `sample_tokens`
//              tokens, an RWKV guide rewards each token by its log-prob of it given the
//              question and the sample so far, read from the guide's own state (zeros, or
//              after a prefix) (single-step alignment), and REINFORCE with a
//              per-position mean baseline updates the state (tts_reinforce.h).
//
// Gold answers never reach the test-time loss: adapt_state has no gold argument, and the
// guide's thought must be written without the gold answer (the caller's contract).
//
// What is tuned: the parts TunedState tunes, starting from `start`'s values —
//   * S0, the WKV state [H, N, N] of every layer (always; zeros where `start` has none,
//     also for a kernel state saved with `linear: false`, whose S0 is zero: kernel ⊇ standard);
//   * with tune_shift, the two token-shift states [C] of every layer (zeros where absent);
//     without it they stay as `start` has them;
//   * with a kernel read-out in `start` (every layer or none), Ŝ at its own rate lr_kernel.
//     Support vectors, gamma, Q and DBP's R stay fixed (R is not moved at test time), as
//     does a transport `start` may carry.
// Constant learning rate, no clipping; the random draws come from `seed` alone, so a call is
// a pure function of its arguments.
#include <cstdint>
#include <string>
#include <vector>

#include "statetune/workers/adam.h"
#include "statetune/workers/rwkv7_model.h"
#include "statetune/workers/tts_distill.h"

namespace statetune::workers {

enum class TtsMode { kDistill, kReinforce };
TtsMode parse_tts_mode(const std::string& name);  // "distill" | "reinforce"
const char* tts_mode_name(TtsMode mode);

struct TtsOptions {
  TtsMode mode = TtsMode::kDistill;
  int64_t steps = 4;                  // tts_steps: Adam steps per question (0: no adaptation)
  double lr = 0.01;                   // S0 and the token shifts
  double lr_kernel = 0.003;           // Ŝ, with a kernel read-out
  int64_t samples = 4;                // tts_samples (reinforce): continuations per step, >= 2
  int64_t sample_tokens = 16;         // reinforce: tokens per continuation
  double temperature = 1.0;           // reinforce: the sampling policy softmax(logits / temperature)
  uint64_t seed = 0;                  // reinforce: the sampling rng
  bool tune_shift = false;            // tune the token-shift states too
  int64_t max_thought_tokens = 1024;  // distill: a longer thought is an error
  AdamOptions adam;
};

// The compute a question cost, for the report beside the accuracy.
struct TtsStats {
  int64_t steps = 0;           // Adam steps taken
  int64_t guide_tokens = 0;    // distill: the thought's tokens (the guide wrote them);
                               // reinforce: positions the guide read to score the samples
  int64_t student_tokens = 0;  // positions the student read: loss passes (with backward) and sampling
  double seconds = 0;          // wall-clock time of the call
  // Per step, measured before that step's update: the distill loss, or the mean reward of the
  // step's samples (mean guide log-prob per sampled token).
  std::vector<double> loss_or_reward_per_step;
  // Empty unless a step's loss or gradient was not finite: then adaptation stopped there and
  // the returned state is the one before that step.
  std::string diverged;
};

// Adapts a copy of `start` (unbatched tensors as TunedState::initial_state() gives them, or
// empty = zeros) for `question` (token ids, starting with 0 = end-of-text) and returns it,
// detached; `start` is never modified and nothing is kept between calls.
//   distill:   `thought` is the guide's chain of thought for the question; `guide` and
//              guide_state are unused (may be null and empty).
//   reinforce: `guide` is required (same vocabulary as the student); it reads the question
//              from guide_state (unbatched, e.g. its state after guide_prefix; empty =
//              zeros); `thought` must be empty (the guide judges the student's own samples).
// stats may be null. Throws statetune::Error on bad input (empty question, a question not
// starting with 0, ids outside the vocabulary, a bad thought, reinforce without a guide,
// bad options, a `start` of the wrong shape).
ModelState adapt_state(const Rwkv7Model& student, const ModelState& start, const std::vector<int64_t>& question,
                       const GuideThought& thought, const Rwkv7Model* guide, const ModelState& guide_state,
                       const TtsOptions& options, TtsStats* stats = nullptr);

}  // namespace statetune::workers
