#pragma once
// The optimisation loop shared by the tuning methods: Adam over the tuned tensors, lr
// schedule with warmup, gradient accumulation, reduction across ranks through the
// Communicator, optional clipping by global norm, and a hard stop on NaN/Inf.
//
// Data parallel: every rank of a group runs this loop in lockstep. Each rank's loss is its
// share of the group's loss (Σ over ranks = the loss of the global batch, e.g. local token
// sum / global token count), so gradients are summed, not averaged, and the result does not
// depend on the number of ranks. Every decision that ends a step differently (a NaN loss on
// one rank, a stop request on one rank) goes through the same all-reduce as the gradients,
// so all ranks take it together and none is left waiting in a collective.
//
// Device: the parameters, gradients and losses stay on their device; a step reads the host
// once, for its figures (loss, token count, non-finite count, squared gradient norm and the
// extension's scalars) after the all-reduce. Everything decided from them (divergence,
// clipping, the lr, DBP's acceptance) is decided on the host after that one read.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "statetune/workers/adam.h"
#include "statetune/workers/communicator.h"
#include "statetune/workers/lr_schedule.h"

namespace statetune::workers {

struct TrainerOptions {
  int64_t steps = 100;
  int64_t accumulation = 1;     // micro-batches per optimiser step
  double max_grad_norm = 0.0;   // 0: no clipping
  LrScheduleOptions schedule;
  AdamOptions adam;
};

struct StepMetrics {
  int64_t step = 0;
  double loss = 0;       // mean over the step's micro-batches (the group's loss)
  double lr = 0;         // the base lr of group 0 after the schedule
  double grad_norm = 0;  // global norm of the reduced gradient, before clipping
  double tokens_per_s = 0;  // the group's target tokens per second
  double l_decor = std::numeric_limits<double>::quiet_NaN();  // DBP's L_decor (NaN otherwise)
};

// kStopped: asked to stop (a signal, a time limit) after a completed step; resumable.
enum class TrainStatus { kDone, kDiverged, kStopped };

struct TrainResult {
  TrainStatus status = TrainStatus::kDone;
  std::string message;  // why it stopped, when it diverged
  std::vector<StepMetrics> history;
};

// loss(step, micro) returns this rank's share of the scalar loss of one micro-batch and the
// number of target tokens it read; the trainer calls backward on it (a loss that does not
// require grad, e.g. a rank with no examples in this micro-batch, contributes zeros). `base_lrs[i]` is the learning rate of
// parameters[i]. A NaN/Inf loss or gradient stops the run with kDiverged before the
// parameters are touched, so they never hold a NaN.
struct MicroBatchLoss {
  at::Tensor loss;
  int64_t tokens = 0;
};

// What happens after an optimiser step besides Adam (DBP's R update).
struct AfterUpdate {
  double l_decor = std::numeric_limits<double>::quiet_NaN();
  std::string diverged;  // non-empty: stop the run with this message
};

// A step's work besides Adam's (DBP's R update, METHOD.md §3), split around the step's one
// host read: statistics summed across the group with the gradients, an update prepared on
// the device from them, then applied (or refused) after the read and Adam's step.
class StepExtension {
 public:
  virtual ~StepExtension() = default;
  // Device tensors to sum across the group together with this step's gradients (called
  // after the step's micro-batches).
  virtual std::vector<at::Tensor> reduce_inputs(int64_t step) = 0;
  // From those tensors, summed: prepares the update on the device and returns the values the
  // host needs to decide on it, as a 1-D float64 device tensor read with the step's figures.
  virtual at::Tensor prepare(std::vector<at::Tensor> reduced) = 0;
  // After the read (`values`: prepare()'s tensor) and Adam's step.
  virtual AfterUpdate commit(int64_t step, const std::vector<double>& values) = 0;
};

struct TrainerHooks {
  std::function<MicroBatchLoss(int64_t step, int64_t micro)> loss;  // required
  StepExtension* extension = nullptr;                                // optional
  std::function<void(const StepMetrics&)> on_step;                   // optional: progress, metrics
  // optional: called when `step` is complete (parameters, moments and buffers all updated),
  // e.g. to write a checkpoint from which the run resumes at step + 1. `stopping`: the run
  // stops after this step (some rank asked to), the same value on every rank.
  std::function<void(int64_t step, const Adam& adam, bool stopping)> on_step_done;
  // optional: this rank asks to stop. Read after on_step of every step; any rank asking
  // stops the whole group after that step (the flag is all-reduced when there are ranks).
  std::function<bool()> should_stop;
};

// Where a resumed run starts: the optimiser's moments and step count, and the next step.
// Nothing else is needed: the data a step reads is a pure function of (seed, step).
struct TrainerResume {
  int64_t next_step = 0;
  std::vector<at::Tensor> adam_m, adam_v;
  int64_t adam_steps = 0;
};

TrainResult train_state(const std::vector<at::Tensor>& parameters, const std::vector<double>& base_lrs,
                        const TrainerOptions& options, Communicator& comm, const TrainerHooks& hooks,
                        const TrainerResume* resume = nullptr);

// The loop without hooks beyond the loss (tests, simple callers).
TrainResult train_state(const std::vector<at::Tensor>& parameters, const std::vector<double>& base_lrs,
                        const TrainerOptions& options, Communicator& comm,
                        const std::function<MicroBatchLoss(int64_t step, int64_t micro)>& loss_fn,
                        const std::function<void(const StepMetrics&)>& on_step = {});

}  // namespace statetune::workers
