#pragma once
// Prompt -> state distillation, a tuning problem whose optimum is known (the methods issue's
// recovery test, the observer tests): the teacher is the frozen model reading a fixed prefix,
// the student the same model without it.
#include <vector>
#include <ATen/core/grad_mode.h>

#include "small_config.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/state_trainer.h"
#include "statetune/workers/tuned_state.h"
#include "statetune/workers/tuning_loss.h"

namespace statetune::workers {

// Recorded from measurement on 2026-11-23 (40 eval positions, seed 21, lr 0.3 cosine,
// 60 steps): zero state 0.475; standard 0.675; standard + shift 0.650. The bounds sit one
// eval position (0.025) below the measured values, a margin for BLAS summation order only.
// Never loosen these.
constexpr int64_t kRecoverySteps = 60;
constexpr double kZeroStateAgreement = 0.475;
constexpr double kRecoveryAgreement = 0.65;
constexpr double kRecoveryAgreementShift = 0.625;
// The observer's trace form (CE on 16 sampled 24-token guide texts per training question,
// 120 steps of 48): measured 0.600 on 2026-11-23 (zero state 0.475). Without log-probs a
// trace carries one sampled token per position instead of a distribution, so it stays below
// the KL forms' 0.675. The bound sits one eval position below the measured value.
constexpr double kObserverTraceAgreement = 0.575;
// The same with the guide's top-8 log-probs per position (4 traces per question, 60 steps of
// 24, top-k KL): measured 0.750 on 2026-11-23, above the RWKV form's 0.675 on the same eval
// questions (the traces add positions from the guide's own text). One position below it.
constexpr double kObserverTopKAgreement = 0.725;
// The RWKV form over the guide's own text (`guide_generate_tokens`): this many greedy tokens
// after each training question, the KL on them only, 60 steps of all 12: measured 0.725 on
// 2026-11-23 against the bound kRecoveryAgreement. Shorter texts carry less of the guide
// (4-16 tokens gave 0.55-0.625, 32 gave 0.650, 64 gave 0.700); 40 eval positions make the
// figure coarse (seeds 22-24 gave 0.75, 0.50, 0.85 where the RWKV form gives 0.65, 0.70, 0.55).
constexpr int64_t kObserverGeneratedTokens = 48;

// The METHOD.md prototype's shape (L=2, C=128, N=64) with a small vocabulary.
inline ModelConfig distill_config() {
  ModelConfig c = testing::small_config(2, 97);
  c.n_embd = 128;
  c.head_size = 64;
  c.n_head = 2;
  return c;
}

// Prompt -> state distillation, where the optimum is known: the teacher is the frozen model
// reading a fixed prefix, the student the same model without it; its state is tuned to match
// the teacher's next-token distributions on questions it never saw.
struct Distillation {
  Rwkv7Model model;
  std::vector<int64_t> prefix;
  std::vector<TuneExample> train, eval;
  at::Tensor train_teacher, eval_teacher;  // [B, T, V] log-probs

  explicit Distillation(uint64_t seed)
      : model(init_random_model(distill_config(), seed), "random") {
    at::manual_seed(seed);
    auto random_tokens = [](int64_t n) {
      std::vector<int64_t> t{0};
      at::Tensor r = at::randint(1, 97, {n}, at::kLong);
      for (int64_t i = 0; i < n; ++i) t.push_back(r[i].item<int64_t>());
      return t;
    };
    prefix = random_tokens(32);
    for (int i = 0; i < 16; ++i) {
      TuneExample e{random_tokens(10), {}};
      e.is_target.assign(e.tokens.size(), 1);
      (i < 12 ? train : eval).push_back(e);
    }
    train_teacher = teacher(train);
    eval_teacher = teacher(eval);
  }

  // The teacher reads the prefix, then the question: its state after the prefix, as initial state.
  at::Tensor teacher(const std::vector<TuneExample>& examples) {
    at::NoGradGuard no_grad;
    const ModelState shared = model.prompt_state(prefix);
    TuneBatch b = make_batch(examples);
    return at::log_softmax(model.forward(b.inputs, b.lengths, &shared), -1);
  }

  double agreement(const TunedState& s) {
    at::NoGradGuard no_grad;
    TuneBatch b = make_batch(eval);
    ModelState init = s.initial_state();
    at::Tensor student = model.forward(b.inputs, b.lengths, &init);
    at::Tensor same = (student.argmax(-1) == eval_teacher.argmax(-1)) & b.mask;
    return same.sum().item<double>() / b.mask.sum().item<double>();
  }

  TrainResult tune(TunedState& s, int64_t steps, double lr) {
    LocalCommunicator comm;
    TrainerOptions o;
    o.steps = steps;
    TuneBatch b = make_batch(train);
    return train_state(s.parameters(), std::vector<double>(s.parameters().size(), lr), o, comm,
                       [&](int64_t, int64_t) {
                         ModelState init = s.initial_state();
                         return MicroBatchLoss{masked_kl(model.forward(b.inputs, b.lengths, &init), train_teacher,
                                                         b.mask),
                                               b.mask.sum().item<int64_t>()};
                       });
  }
};

}  // namespace statetune::workers
