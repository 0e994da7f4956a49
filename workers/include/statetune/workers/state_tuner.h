#pragma once
// One state-tuning run on one rank (METHOD.md §1-§4): builds the method's TunedState
// (zeros or a prompt's state; calibration of the kernel read-out), then trains it with the
// masked next-token cross-entropy on target tokens or, with a guide, the KL to the guide's
// next-token distributions; DBP moves R after every optimiser step from all-reduced
// statistics. Checkpoints and resumes bit-identically: the data of step s is a pure function
// of (seed, s), so the tuned values, Adam's moments, R and the step are the whole run state.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "statetune/kernels/dbp.h"
#include "statetune/workers/communicator.h"
#include "statetune/workers/kernel_calibration.h"
#include "statetune/workers/state_trainer.h"
#include "statetune/workers/tuned_state.h"
#include "statetune/workers/tuning_loss.h"

namespace statetune::workers {

// `target: guide`: a (usually larger) model with the same tokenizer, read from its own
// initial state (e.g. the state after a prefix: prompt -> state distillation).
struct GuideTarget {
  const Rwkv7Model* model = nullptr;
  ModelState state;    // unbatched; empty = zeros
  double alpha = 0;    // weight of an added cross-entropy on the example's own targets
};

struct TuneOptions {
  TuneMethod method = TuneMethod::kStandard;
  bool tune_shift = false;           // `shift: tune`
  bool linear = true;                // kernel/dbp: keep (and tune) the S0 term
  std::vector<int64_t> init_prompt;  // `init: prompt`: tokens of the prompt; empty: zeros
  KernelCalibrationOptions kernel;   // M, support, gamma, ... (seed is set from `seed`)
  double lr = 1.0;
  double lr_kernel = 0.003;
  kernels::DbpOptions dbp;
  TrainerOptions trainer;            // steps, accumulation, clipping, schedule
  int64_t batch = 4;                 // examples per micro-batch (global: shared out over the ranks)
  uint64_t seed = 0;
  int64_t checkpoint_every = 0;      // steps between checkpoints (0: none)
  std::string checkpoint_path;       // where they go (and where resume reads)
  uint64_t fingerprint = 0;          // the run's config hash: a checkpoint of another run is refused
};

struct TuneData {
  std::vector<TuneExample> train;                        // all of them, identical on every rank
  std::vector<std::vector<int64_t>> calibration_prompts; // identical on every rank
};

class StateTuner {
 public:
  // Builds the starting state (and calibrates the kernel read-out) on the model's device.
  // `guide` may be null. `calibration`: the kernel methods' calibration made elsewhere (with
  // the same model, prompts, start state and options), used instead of calibrating here.
  StateTuner(const Rwkv7Model& model, TuneOptions options, TuneData data, Communicator& comm,
             const GuideTarget* guide = nullptr, const KernelCalibration* calibration = nullptr);
  ~StateTuner();

  // Trains for the remaining steps. resume = true continues from options.checkpoint_path when
  // that file exists (and fails clearly when it belongs to another run). The result's history
  // is the whole curve from step 0: a resumed run's earlier steps come from the checkpoint.
  TrainResult run(bool resume, const std::function<void(const StepMetrics&)>& on_step = {});

  // Stops a run cleanly after the step in progress: the checkpoint is written, run() returns.
  void request_stop() { stop_requested_ = true; }

  const TunedState& state() const { return state_; }
  const TuneOptions& options() const { return options_; }
  std::optional<KernelCalibration> calibration() const { return calibration_; }
  // The loss of the current state on some examples (no gradient), e.g. before/after tuning.
  // Collective: every rank of the group calls it with the same examples and scores a share.
  double evaluate_loss(const std::vector<TuneExample>& examples) const;
  int64_t resumed_from() const { return resumed_from_; }

 private:
  MicroBatchLoss micro_batch_loss(int64_t step, int64_t micro);
  std::vector<size_t> batch_indices(int64_t step, int64_t micro) const;
  // indices: the batch's rows in data_.train (enables the guide cache), or empty.
  at::Tensor loss_of(const TuneBatch& batch, const ModelState& init, ForwardTrace* trace,
                     const std::vector<size_t>& indices) const;
  at::Tensor guide_logprobs(const TuneBatch& batch, const std::vector<size_t>& indices) const;
  // The guide's log-probs are cached per training example while they fit in this many floats.
  static constexpr int64_t kGuideCacheFloats = int64_t{256} << 20;
  class DbpUpdate;  // DBP's R update around the trainer's step (a StepExtension)
  void write_checkpoint(int64_t step, const Adam& adam) const;

  const Rwkv7Model& model_;
  TuneOptions options_;
  TuneData data_;
  Communicator& comm_;
  const GuideTarget* guide_;
  TunedState state_;
  std::optional<KernelCalibration> calibration_;
  std::vector<at::Tensor> z_moment_sum_;  // DBP: Σ z zᵀ per layer over this step (device)
  int64_t z_count_ = 0;                   // DBP: the real tokens they sum over
  int64_t resumed_from_ = -1;
  mutable std::map<size_t, at::Tensor> guide_cache_;
  bool stop_requested_ = false;
  std::vector<StepMetrics> history_;  // every completed step of the run (with resumed ones)
};

}  // namespace statetune::workers
