#include "statetune/workers/state_tuner.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <random>

#include "statetune/common/error.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/state_file.h"

namespace statetune::workers {
namespace {

// The first `count` tokens of a prompt state, read by the frozen model: `init: prompt`.
ModelState prompt_state(const Rwkv7Model& model, const std::vector<int64_t>& tokens) {
  at::NoGradGuard no_grad;
  ModelState final_state;
  model.forward(at::tensor(tokens, at::kLong).unsqueeze(0), at::Tensor(), nullptr, &final_state);
  return final_state;
}

// A permutation of 0..n-1 per epoch, from (seed, epoch) alone (stateless: resume-safe).
std::vector<size_t> epoch_order(uint64_t seed, int64_t epoch, size_t n) {
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 gen(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[gen() % i]);
  return order;
}

const char* kCheckpointStepKey = "trainer.next_step";
const char* kCheckpointAdamStepKey = "trainer.adam_steps";
const char* kCheckpointFingerprintKey = "trainer.fingerprint";

}  // namespace

StateTuner::StateTuner(const Rwkv7Model& model, TuneOptions options, TuneData data, Communicator& comm,
                       const GuideTarget* guide)
    : model_(model),
      options_(std::move(options)),
      data_(std::move(data)),
      comm_(comm),
      guide_(guide),
      state_(model.config(), options_.tune_shift, model.dtype()) {
  ST_CHECK(!data_.train.empty(), "tuning: no training examples on rank {}", comm.rank());
  ST_CHECK(options_.batch >= 1, "tuning: batch must be >= 1, got {}", options_.batch);
  ST_CHECK(guide_ == nullptr || guide_->model != nullptr, "tuning: a guide target without a guide model");
  if (!options_.init_prompt.empty()) {
    state_ = TunedState::from_model_state(prompt_state(model_, options_.init_prompt), options_.tune_shift);
  }
  if (options_.method != TuneMethod::kStandard) {
    KernelCalibrationOptions k = options_.kernel;
    k.seed = options_.seed;
    const std::vector<std::vector<int64_t>>& prompts =
        data_.calibration_prompts.empty() ? std::vector<std::vector<int64_t>>{} : data_.calibration_prompts;
    ST_CHECK(!prompts.empty(), "tuning: the kernel methods need calibration prompts");
    ModelState start = state_.initial_state();
    calibration_ = calibrate_kernel_readout(model_, prompts, &start, k);
    state_.add_kernel_readout(calibration_->buffers, options_.linear);
  }
}

std::vector<size_t> StateTuner::batch_indices(int64_t step, int64_t micro) const {
  const size_t n = data_.train.size();
  std::vector<size_t> out;
  std::map<int64_t, std::vector<size_t>> orders;
  const int64_t first = (step * options_.trainer.accumulation + micro) * options_.batch;
  for (int64_t i = 0; i < options_.batch; ++i) {
    const int64_t pos = first + i, epoch = pos / static_cast<int64_t>(n);
    auto it = orders.find(epoch);
    if (it == orders.end()) it = orders.emplace(epoch, epoch_order(options_.seed, epoch, n)).first;
    out.push_back(it->second[static_cast<size_t>(pos % static_cast<int64_t>(n))]);
  }
  return out;
}

at::Tensor StateTuner::guide_logprobs(const TuneBatch& batch, const std::vector<size_t>& indices) const {
  at::NoGradGuard no_grad;
  auto compute = [&](const TuneBatch& b) {
    return at::log_softmax(guide_->model->forward(b.inputs, b.lengths, guide_->state.empty() ? nullptr : &guide_->state),
                           -1);
  };
  const int64_t V = guide_->model->config().vocab_size;
  int64_t cached_floats = 0;
  for (const auto& e : data_.train) cached_floats += static_cast<int64_t>(e.tokens.size()) * V;
  if (indices.empty() || cached_floats > kGuideCacheFloats) return compute(batch);
  // The guide is frozen and reads each example from the same state: its distributions are
  // computed once per example and reused by every later step.
  const int64_t B = batch.inputs.size(0), T = batch.inputs.size(1);
  at::Tensor out = at::zeros({B, T, V}, batch.inputs.options().dtype(guide_->model->dtype()));
  for (int64_t b = 0; b < B; ++b) {
    const size_t i = indices[static_cast<size_t>(b)];
    auto it = guide_cache_.find(i);
    if (it == guide_cache_.end()) {
      it = guide_cache_.emplace(i, compute(make_batch({data_.train[i]}))[0]).first;
    }
    out[b].narrow(0, 0, it->second.size(0)).copy_(it->second);
  }
  return out;
}

at::Tensor StateTuner::loss_of(const TuneBatch& batch, const ModelState& init, ForwardTrace* trace,
                               const std::vector<size_t>& indices) const {
  const at::Tensor logits = model_.forward(batch.inputs, batch.lengths, &init, nullptr, trace);
  if (guide_ == nullptr) return masked_cross_entropy(logits, batch.targets, batch.mask);
  const at::Tensor teacher = guide_logprobs(batch, indices).to(logits.scalar_type());
  at::Tensor loss = masked_kl(logits, teacher, batch.mask);
  if (guide_->alpha != 0) loss = loss + guide_->alpha * masked_cross_entropy(logits, batch.targets, batch.mask);
  return loss;
}

MicroBatchLoss StateTuner::micro_batch_loss(int64_t step, int64_t micro) {
  std::vector<TuneExample> examples;
  const std::vector<size_t> indices = batch_indices(step, micro);
  for (size_t i : indices) examples.push_back(data_.train[i]);
  const TuneBatch batch = make_batch(examples);
  const ModelState init = state_.initial_state();
  const bool dbp = options_.method == TuneMethod::kDbp;
  ForwardTrace trace;
  const at::Tensor loss = loss_of(batch, init, dbp ? &trace : nullptr, indices);
  if (dbp) {
    if (micro == 0) {
      z_moment_sum_.assign(trace.readout_z.size(), at::Tensor());
      z_count_ = 0;
    }
    for (size_t l = 0; l < trace.readout_z.size(); ++l) {
      const at::Tensor s = kernels::dbp_second_moment_sum_cpu(trace.readout_z[l], trace.mask);
      z_moment_sum_[l] = z_moment_sum_[l].defined() ? z_moment_sum_[l] + s : s;
    }
    z_count_ += trace.mask.sum().item<int64_t>();
  }
  return {loss, batch.mask.sum().item<int64_t>()};
}

AfterUpdate StateTuner::dbp_update() {
  AfterUpdate out;
  // Σ z zᵀ and the token count go through the same reduction as the gradients, so every rank
  // computes the same X and R stays identical everywhere.
  std::vector<at::Tensor> sums = z_moment_sum_;
  sums.push_back(at::full({1}, static_cast<double>(z_count_), at::kDouble));
  comm_.all_reduce_sum(sums);
  const double count = sums.back().item<double>();
  if (count <= 0) return out;
  double l_decor = 0;
  int64_t heads = 0;
  std::vector<at::Tensor>& R = state_.decorrelation();
  std::vector<at::Tensor> next(R.size());
  for (size_t l = 0; l < R.size(); ++l) {
    kernels::DbpStep s = kernels::dbp_update_cpu(R[l], sums[l] / count, options_.dbp);
    if (!at::isfinite(s.R).all().item<bool>()) {
      out.diverged = fmt::format("DBP's R of layer {} is not finite (dbp_lambda {} too large?); R was not updated", l,
                                 options_.dbp.lambda);
      return out;
    }
    next[l] = s.R;
    l_decor += s.l_decor.sum().item<double>();
    heads += s.l_decor.numel();
  }
  for (size_t l = 0; l < R.size(); ++l) R[l] = next[l];
  out.l_decor = l_decor / static_cast<double>(std::max<int64_t>(heads, 1));
  return out;
}

void StateTuner::write_checkpoint(int64_t step, const Adam& adam) const {
  // In the run's own dtype, so a resumed run continues from exactly the same values.
  TensorMap t = state_tensor_map(state_.initial_state(), model_.config(), options_.checkpoint_path, /*keep_dtype=*/true);
  for (size_t i = 0; i < adam.first_moments().size(); ++i) {
    t.emplace(fmt::format("adam.m.{}", i), adam.first_moments()[i].detach().clone());
    t.emplace(fmt::format("adam.v.{}", i), adam.second_moments()[i].detach().clone());
  }
  // Checkpoint files hold floating-point tensors only; counts and the 64-bit hash (as two
  // 32-bit halves) are exact in float64.
  t.emplace(kCheckpointStepKey, at::full({1}, static_cast<double>(step + 1), at::kDouble));
  t.emplace(kCheckpointAdamStepKey, at::full({1}, static_cast<double>(adam.steps_taken()), at::kDouble));
  t.emplace(kCheckpointFingerprintKey, at::tensor({static_cast<double>(options_.fingerprint >> 32),
                                                   static_cast<double>(options_.fingerprint & 0xFFFFFFFFull)},
                                                  at::kDouble));
  if (comm_.rank() == 0) save_checkpoint(options_.checkpoint_path, t);
}

TrainResult StateTuner::run(bool resume, const std::function<void(const StepMetrics&)>& on_step) {
  const std::vector<at::Tensor> params = state_.parameters();
  std::optional<TrainerResume> from;
  if (resume && !options_.checkpoint_path.empty() && std::filesystem::exists(options_.checkpoint_path)) {
    const std::string& path = options_.checkpoint_path;
    const TensorMap t = load_checkpoint(path);
    auto values = [&](const char* key, int64_t count) {
      auto it = t.find(key);
      ST_CHECK(it != t.end() && it->second.numel() == count, "{}: not a tuning checkpoint (no '{}')", path, key);
      return it->second.to(at::kDouble);
    };
    auto scalar = [&](const char* key) { return static_cast<int64_t>(values(key, 1).item<double>()); };
    const at::Tensor halves = values(kCheckpointFingerprintKey, 2);
    const uint64_t saved = (static_cast<uint64_t>(halves[0].item<double>()) << 32) |
                           static_cast<uint64_t>(halves[1].item<double>());
    ST_CHECK(saved == options_.fingerprint,
             "{}: the checkpoint belongs to another run configuration (hash {:016x}, this run {:016x})", path, saved,
             options_.fingerprint);
    state_.assign(state_from_tensor_map(t, path, model_.config(), model_.dtype()));
    TrainerResume r;
    r.next_step = scalar(kCheckpointStepKey);
    r.adam_steps = scalar(kCheckpointAdamStepKey);
    for (size_t i = 0; i < params.size(); ++i) {
      auto m = t.find(fmt::format("adam.m.{}", i)), v = t.find(fmt::format("adam.v.{}", i));
      ST_CHECK(m != t.end() && v != t.end(), "{}: missing Adam moments of parameter {}", path, i);
      r.adam_m.push_back(m->second.to(params[i].scalar_type()).clone());
      r.adam_v.push_back(v->second.to(params[i].scalar_type()).clone());
    }
    resumed_from_ = r.next_step;
    from = std::move(r);
  }
  TrainerHooks hooks;
  hooks.loss = [this](int64_t step, int64_t micro) { return micro_batch_loss(step, micro); };
  if (options_.method == TuneMethod::kDbp) hooks.after_update = [this](int64_t) { return dbp_update(); };
  hooks.on_step = on_step;
  if (!options_.checkpoint_path.empty()) {
    hooks.on_step_done = [this](int64_t step, const Adam& adam) {
      const bool last = step + 1 == options_.trainer.steps;
      if (stop_requested_ || last || (options_.checkpoint_every > 0 && (step + 1) % options_.checkpoint_every == 0))
        write_checkpoint(step, adam);
    };
  }
  hooks.should_stop = [this] { return stop_requested_; };
  return train_state(params, state_.learning_rates(options_.lr, options_.lr_kernel), options_.trainer, comm_, hooks,
                     from ? &*from : nullptr);
}

double StateTuner::evaluate_loss(const std::vector<TuneExample>& examples) const {
  at::NoGradGuard no_grad;
  const ModelState init = state_.initial_state();
  double sum = 0;
  int64_t tokens = 0;
  for (size_t start = 0; start < examples.size(); start += static_cast<size_t>(options_.batch)) {
    std::vector<TuneExample> chunk(examples.begin() + static_cast<int64_t>(start),
                                   examples.begin() + static_cast<int64_t>(std::min(examples.size(), start + options_.batch)));
    const TuneBatch batch = make_batch(chunk);
    const int64_t n = batch.mask.sum().item<int64_t>();
    sum += loss_of(batch, init, nullptr, {}).item<double>() * static_cast<double>(n);
    tokens += n;
  }
  return tokens > 0 ? sum / static_cast<double>(tokens) : std::nan("");
}

}  // namespace statetune::workers
