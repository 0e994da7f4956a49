#include "statetune/workers/state_trainer.h"

#include <cmath>

#include "statetune/common/error.h"
#include "statetune/common/timer.h"
#include "statetune/workers/host_device.h"

namespace statetune::workers {

TrainResult train_state(const std::vector<at::Tensor>& parameters, const std::vector<double>& base_lrs,
                        const TrainerOptions& options, Communicator& comm,
                        const std::function<MicroBatchLoss(int64_t, int64_t)>& loss_fn,
                        const std::function<void(const StepMetrics&)>& on_step) {
  TrainerHooks hooks;
  hooks.loss = loss_fn;
  hooks.on_step = on_step;
  return train_state(parameters, base_lrs, options, comm, hooks);
}

TrainResult train_state(const std::vector<at::Tensor>& parameters, const std::vector<double>& base_lrs,
                        const TrainerOptions& options, Communicator& comm, const TrainerHooks& hooks,
                        const TrainerResume* resume) {
  ST_CHECK(static_cast<bool>(hooks.loss), "train_state: no loss function");
  ST_CHECK(parameters.size() == base_lrs.size(), "train_state: {} parameters but {} learning rates",
           parameters.size(), base_lrs.size());
  ST_CHECK(!parameters.empty(), "train_state: no parameters to tune");
  ST_CHECK(options.steps >= 0 && options.accumulation >= 1, "train_state: steps >= 0 and accumulation >= 1");
  Adam adam(parameters, options.adam);
  int64_t first_step = 0;
  if (resume != nullptr) {
    ST_CHECK(resume->next_step >= 0 && resume->next_step <= options.steps,
             "resume: the checkpoint is at step {}, the run has {} steps", resume->next_step, options.steps);
    adam.restore(resume->adam_m, resume->adam_v, resume->adam_steps);
    first_step = resume->next_step;
  }
  // The step's figures are float64 scalars on the parameters' device.
  const at::TensorOptions figures = parameters[0].options().dtype(at::kDouble);
  TrainResult result;
  for (int64_t step = first_step; step < options.steps; ++step) {
    Timer timer;
    for (const auto& p : parameters) {
      if (p.grad().defined()) p.mutable_grad().zero_();
    }
    // A non-finite micro-batch adds nothing to the loss sum and is counted; its gradient may
    // be non-finite too, but the step then ends (below) before anything moves.
    at::Tensor loss_sum = at::zeros({}, figures), nonfinite = at::zeros({}, figures);
    int64_t tokens = 0;
    for (int64_t micro = 0; micro < options.accumulation; ++micro) {
      MicroBatchLoss mb = hooks.loss(step, micro);
      tokens += mb.tokens;
      const at::Tensor value = mb.loss.detach().to(at::kDouble);
      const at::Tensor finite = at::isfinite(value);
      loss_sum = loss_sum + at::where(finite, value, at::zeros_like(value));
      nonfinite = nonfinite + at::logical_not(finite).to(at::kDouble);
      if (mb.loss.requires_grad()) (mb.loss / static_cast<double>(options.accumulation)).backward();
    }
    std::vector<at::Tensor> reduced;
    for (const auto& p : parameters) reduced.push_back(p.grad().defined() ? p.grad() : at::zeros_like(p));
    const size_t n_grads = reduced.size();
    std::vector<at::Tensor> extra = hooks.extension ? hooks.extension->reduce_inputs(step) : std::vector<at::Tensor>{};
    reduced.insert(reduced.end(), extra.begin(), extra.end());
    reduced.push_back(at::stack({loss_sum, at::full({}, static_cast<double>(tokens), figures), nonfinite}));
    comm.all_reduce_sum(reduced);
    const at::Tensor totals = reduced.back();
    extra.assign(reduced.begin() + static_cast<long>(n_grads), reduced.end() - 1);
    reduced.resize(n_grads);
    std::vector<at::Tensor>& grads = reduced;
    // Σ‖g‖² tensor by tensor, in order (as a host sum would add them).
    at::Tensor sq = at::zeros({}, figures);
    for (auto& g : grads) sq = sq + g.to(at::kDouble).pow(2).sum();
    std::vector<at::Tensor> read{totals, sq.unsqueeze(0)};
    if (hooks.extension) read.push_back(hooks.extension->prepare(std::move(extra)));
    // The step's one host read.
    const at::Tensor host = to_host(at::cat(read));
    const double* v = host.data_ptr<double>();
    const double group_loss = v[0], group_tokens = v[1];
    const int64_t group_nonfinite = static_cast<int64_t>(v[2]);
    const std::vector<double> extension_values(v + 4, v + host.numel());
    if (group_nonfinite > 0) {
      result.status = TrainStatus::kDiverged;
      result.message = fmt::format("the loss is not finite in {} micro-batch(es) at step {}; the state was not updated",
                                   group_nonfinite, step);
      return result;
    }
    const double norm = std::sqrt(v[3]);
    if (!std::isfinite(norm)) {
      result.status = TrainStatus::kDiverged;
      result.message = fmt::format("gradient norm is {} at step {}; the state was not updated", norm, step);
      return result;
    }
    if (options.max_grad_norm > 0 && norm > options.max_grad_norm) {
      for (auto& g : grads) g.mul_(options.max_grad_norm / norm);
    }
    const double mult = lr_multiplier(options.schedule, step, options.steps);
    std::vector<double> lrs;
    for (double lr : base_lrs) lrs.push_back(lr * mult);
    adam.step(grads, lrs);
    AfterUpdate after;
    if (hooks.extension) after = hooks.extension->commit(step, extension_values);
    if (!after.diverged.empty()) {
      result.status = TrainStatus::kDiverged;
      result.message = fmt::format("{} at step {}", after.diverged, step);
      return result;
    }
    StepMetrics m;
    m.l_decor = after.l_decor;
    m.step = step;
    m.loss = group_loss / static_cast<double>(options.accumulation);
    m.lr = lrs.empty() ? 0 : lrs[0];
    m.grad_norm = norm;
    m.tokens_per_s = group_tokens / std::max(timer.seconds(), 1e-9);
    result.history.push_back(m);
    if (hooks.on_step) hooks.on_step(m);
    // A stop asked for on any rank (also from on_step, about this very step) ends the run here
    // on every rank: one more scalar all-reduce when there are several.
    bool stopping = hooks.should_stop && hooks.should_stop();
    if (comm.size() > 1) {
      std::vector<at::Tensor> flag{at::tensor({stopping ? 1.0 : 0.0}, at::kDouble)};
      comm.all_reduce_sum(flag);
      stopping = flag[0].item<double>() > 0;
    }
    if (hooks.on_step_done) hooks.on_step_done(step, adam, stopping);
    if (stopping && step + 1 < options.steps) {
      result.status = TrainStatus::kStopped;
      result.message = fmt::format("stopped after step {} of {}", step, options.steps);
      return result;
    }
  }
  return result;
}

}  // namespace statetune::workers
