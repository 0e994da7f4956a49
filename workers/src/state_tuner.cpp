#include "statetune/workers/state_tuner.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <ATen/core/grad_mode.h>

#include "statetune/common/error.h"
#include "statetune/workers/checkpoint.h"
#include "statetune/workers/host_device.h"
#include "statetune/workers/state_file.h"

namespace statetune::workers {
namespace {

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
// The metric curve so far, [steps, 6] float64: step, loss, lr, grad_norm, tokens_per_s, l_decor.
const char* kCheckpointHistoryKey = "trainer.history";

}  // namespace

// DBP's R update (METHOD.md §3) around the trainer's step: Σ z zᵀ and the token count are summed
// with the gradients, so every rank computes the same X and R stays identical everywhere; the
// new R is computed on the device before the step's host read and kept only if it is finite.
class StateTuner::DbpUpdate final : public StepExtension {
 public:
  explicit DbpUpdate(StateTuner& tuner) : t_(tuner) {}

  std::vector<at::Tensor> reduce_inputs(int64_t) override {
    std::vector<at::Tensor> sums = t_.z_moment_sum_;
    const at::TensorOptions opts = t_.model_.state_options().dtype(at::kDouble);
    if (sums.empty()) {  // this rank read no examples in this step: it adds zeros
      for (const auto& R : t_.state_.decorrelation()) sums.push_back(at::zeros({R.size(0), R.size(1), R.size(1)}, opts));
    }
    sums.push_back(at::full({1}, static_cast<double>(t_.z_count_), opts));
    return sums;
  }

  // Values: the token count, Σ L_decor over layers and heads, then per layer whether R is finite.
  at::Tensor prepare(std::vector<at::Tensor> sums) override {
    const at::Tensor count = sums.back();
    const std::vector<at::Tensor>& R = t_.state_.decorrelation();
    next_.assign(R.size(), at::Tensor());
    heads_ = 0;
    at::Tensor l_decor = at::zeros({}, count.options());
    std::vector<at::Tensor> values{count.squeeze(0), at::Tensor()};
    for (size_t l = 0; l < R.size(); ++l) {
      kernels::DbpStep s = kernels::dbp_update_cpu(R[l], sums[l] / count, t_.options_.dbp);
      next_[l] = s.R;
      l_decor = l_decor + s.l_decor.sum();
      heads_ += s.l_decor.numel();
      values.push_back(at::isfinite(s.R).all().to(at::kDouble));
    }
    values[1] = l_decor;
    return at::stack(values);
  }

  AfterUpdate commit(int64_t, const std::vector<double>& v) override {
    AfterUpdate out;
    if (v[0] <= 0) return out;  // no real token in the whole group this step
    std::vector<at::Tensor>& R = t_.state_.decorrelation();
    for (size_t l = 0; l < R.size(); ++l) {
      if (v[2 + l] == 0) {
        out.diverged = fmt::format("DBP's R of layer {} is not finite (dbp_lambda {} too large?); R was not updated",
                                   l, t_.options_.dbp.lambda);
        return out;
      }
    }
    for (size_t l = 0; l < R.size(); ++l) R[l] = next_[l];
    out.l_decor = v[1] / static_cast<double>(std::max<int64_t>(heads_, 1));
    return out;
  }

 private:
  StateTuner& t_;
  std::vector<at::Tensor> next_;
  int64_t heads_ = 0;
};

StateTuner::~StateTuner() = default;

StateTuner::StateTuner(const Rwkv7Model& model, TuneOptions options, TuneData data, Communicator& comm,
                       const GuideTarget* guide, const KernelCalibration* calibration)
    : model_(model),
      options_(std::move(options)),
      data_(std::move(data)),
      comm_(comm),
      guide_(guide),
      state_(model.config(), options_.tune_shift, model.state_options()) {
  ST_CHECK(!data_.train.empty(), "tuning: no training examples on rank {}", comm.rank());
  ST_CHECK(options_.batch >= 1, "tuning: batch must be >= 1, got {}", options_.batch);
  ST_CHECK(guide_ == nullptr || guide_->model != nullptr, "tuning: a guide target without a guide model");
  if (!options_.init_prompt.empty()) {
    state_ = TunedState::from_model_state(model_.prompt_state(options_.init_prompt), options_.tune_shift);
  }
  if (options_.method != TuneMethod::kStandard) {
    KernelCalibrationOptions k = options_.kernel;
    k.seed = options_.seed;
    if (calibration != nullptr) {
      calibration_ = *calibration;
    } else {
      ST_CHECK(!data_.calibration_prompts.empty(), "tuning: the kernel methods need calibration prompts");
      ModelState start = state_.initial_state();
      calibration_ = calibrate_kernel_readout(model_, data_.calibration_prompts, &start, k);
    }
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
  // b holds host tensors: the guide copies them to its device.
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
  at::Tensor out = at::zeros({B, T, V}, guide_->model->state_options());
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
  // The model reads the host batch (it checks the tokens there, then copies them); the loss
  // reads the targets, masks and top-k lists on the device.
  const at::Tensor logits = model_.forward(batch.inputs, batch.lengths, &init, nullptr, trace);
  const TuneBatch on = batch_on_device(batch, model_.device());
  if (guide_ == nullptr && on.topk_ids.defined())  // a trace guide's top-k log-probs
    return masked_topk_kl(logits, on.topk_ids, on.topk_probs, on.mask);
  if (guide_ == nullptr) return masked_cross_entropy(logits, on.targets, on.mask);
  const at::Tensor teacher = guide_logprobs(batch, indices).to(logits.options());
  at::Tensor loss = masked_kl(logits, teacher, on.mask);
  if (guide_->alpha != 0) loss = loss + guide_->alpha * masked_cross_entropy(logits, on.targets, on.mask);
  return loss;
}

MicroBatchLoss StateTuner::micro_batch_loss(int64_t step, int64_t micro) {
  // The global micro-batch is the same on every rank; rank r reads its positions r, r + P, ...
  // and its loss is weighted by its share of the global target tokens, so the sum over ranks
  // is the loss of the whole micro-batch whatever the number of ranks.
  const std::vector<size_t> global = batch_indices(step, micro);
  std::vector<size_t> indices;
  std::vector<TuneExample> examples;
  int64_t global_tokens = 0;
  for (size_t p = 0; p < global.size(); ++p) {
    const TuneExample& e = data_.train[global[p]];
    for (size_t t = 1; t < e.is_target.size(); ++t) global_tokens += e.is_target[t] != 0;
    if (static_cast<int>(p % static_cast<size_t>(comm_.size())) == comm_.rank()) {
      indices.push_back(global[p]);
      examples.push_back(e);
    }
  }
  if (examples.empty()) {
    // Fewer examples than ranks: this rank still joins the step's collectives.
    if (options_.method == TuneMethod::kDbp && micro == 0) {
      z_moment_sum_.clear();
      z_count_ = 0;
    }
    return {at::zeros({}, model_.state_options().dtype(at::kDouble)), 0};
  }
  const TuneBatch batch = make_batch(examples);
  const ModelState init = state_.initial_state();
  const bool dbp = options_.method == TuneMethod::kDbp;
  ForwardTrace trace;
  const int64_t local_tokens = batch.mask.sum().item<int64_t>();
  const at::Tensor loss = loss_of(batch, init, dbp ? &trace : nullptr, indices) *
                          (static_cast<double>(local_tokens) / static_cast<double>(std::max<int64_t>(global_tokens, 1)));
  if (dbp) {
    if (micro == 0) {
      z_moment_sum_.assign(trace.readout_z.size(), at::Tensor());
      z_count_ = 0;
    }
    for (size_t l = 0; l < trace.readout_z.size(); ++l) {
      const at::Tensor s = kernels::dbp_second_moment_sum_cpu(trace.readout_z[l], trace.mask);
      z_moment_sum_[l] = z_moment_sum_[l].defined() ? z_moment_sum_[l] + s : s;
    }
    z_count_ += batch.lengths.sum().item<int64_t>();  // the real positions (host batch)
  }
  return {loss, local_tokens};
}

void StateTuner::write_checkpoint(int64_t step, const Adam& adam) const {
  // In the run's own dtype, so a resumed run continues from exactly the same values.
  TensorMap t = state_tensor_map(state_.initial_state(), model_.config(), options_.checkpoint_path, /*keep_dtype=*/true);
  for (size_t i = 0; i < adam.first_moments().size(); ++i) {
    t.emplace(fmt::format("adam.m.{}", i), adam.first_moments()[i].detach().to(at::kCPU).clone());
    t.emplace(fmt::format("adam.v.{}", i), adam.second_moments()[i].detach().to(at::kCPU).clone());
  }
  // Checkpoint files hold floating-point tensors only; counts and the 64-bit hash (as two
  // 32-bit halves) are exact in float64.
  t.emplace(kCheckpointStepKey, at::full({1}, static_cast<double>(step + 1), at::kDouble));
  t.emplace(kCheckpointAdamStepKey, at::full({1}, static_cast<double>(adam.steps_taken()), at::kDouble));
  t.emplace(kCheckpointFingerprintKey, at::tensor({static_cast<double>(options_.fingerprint >> 32),
                                                   static_cast<double>(options_.fingerprint & 0xFFFFFFFFull)},
                                                  at::kDouble));
  if (!history_.empty()) {
    at::Tensor h = at::empty({static_cast<int64_t>(history_.size()), 6}, at::kDouble);
    auto a = h.accessor<double, 2>();
    for (size_t i = 0; i < history_.size(); ++i) {
      const StepMetrics& m = history_[i];
      const double row[6] = {static_cast<double>(m.step), m.loss, m.lr, m.grad_norm, m.tokens_per_s, m.l_decor};
      for (int64_t j = 0; j < 6; ++j) a[static_cast<int64_t>(i)][j] = row[j];
    }
    t.emplace(kCheckpointHistoryKey, h);
  }
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
    state_.assign(state_from_tensor_map(t, path, model_.config(), model_.state_options()));
    TrainerResume r;
    r.next_step = scalar(kCheckpointStepKey);
    r.adam_steps = scalar(kCheckpointAdamStepKey);
    for (size_t i = 0; i < params.size(); ++i) {
      auto m = t.find(fmt::format("adam.m.{}", i)), v = t.find(fmt::format("adam.v.{}", i));
      ST_CHECK(m != t.end() && v != t.end(), "{}: missing Adam moments of parameter {}", path, i);
      r.adam_m.push_back(m->second.to(params[i].options()).clone());
      r.adam_v.push_back(v->second.to(params[i].options()).clone());
    }
    resumed_from_ = r.next_step;
    history_.clear();
    if (auto h = t.find(kCheckpointHistoryKey); h != t.end() && h->second.dim() == 2 && h->second.size(1) == 6) {
      const at::Tensor rows = h->second.to(at::kDouble).contiguous();
      auto a = rows.accessor<double, 2>();
      for (int64_t i = 0; i < rows.size(0); ++i) {
        StepMetrics m;
        m.step = static_cast<int64_t>(a[i][0]);
        if (m.step >= r.next_step) break;
        m.loss = a[i][1];
        m.lr = a[i][2];
        m.grad_norm = a[i][3];
        m.tokens_per_s = a[i][4];
        m.l_decor = a[i][5];
        history_.push_back(m);
      }
    }
    from = std::move(r);
  }
  TrainerHooks hooks;
  hooks.loss = [this](int64_t step, int64_t micro) { return micro_batch_loss(step, micro); };
  DbpUpdate dbp(*this);
  if (options_.method == TuneMethod::kDbp) hooks.extension = &dbp;
  hooks.on_step = [this, &on_step](const StepMetrics& m) {
    history_.push_back(m);
    if (on_step) on_step(m);
  };
  if (!options_.checkpoint_path.empty()) {
    hooks.on_step_done = [this](int64_t step, const Adam& adam, bool stopping) {
      const bool last = step + 1 == options_.trainer.steps;
      if (stopping || last || (options_.checkpoint_every > 0 && (step + 1) % options_.checkpoint_every == 0))
        write_checkpoint(step, adam);
    };
  }
  hooks.should_stop = [this] { return stop_requested_; };
  if (!from) history_.clear();
  TrainResult result = train_state(params, state_.learning_rates(options_.lr, options_.lr_kernel), options_.trainer,
                                   comm_, hooks, from ? &*from : nullptr);
  result.history = history_;
  return result;
}

double StateTuner::evaluate_loss(const std::vector<TuneExample>& examples) const {
  at::NoGradGuard no_grad;
  const ModelState init = state_.initial_state();
  // Rank r scores examples r, r + P, ...; the token-weighted sums are all-reduced.
  std::vector<TuneExample> mine;
  for (size_t i = static_cast<size_t>(comm_.rank()); i < examples.size(); i += static_cast<size_t>(comm_.size()))
    mine.push_back(examples[i]);
  // The token-weighted loss sum stays on the device; the host reads the group's totals once.
  const at::TensorOptions figures = model_.state_options().dtype(at::kDouble);
  at::Tensor sum = at::zeros({}, figures);
  int64_t tokens = 0;
  for (size_t start = 0; start < mine.size(); start += static_cast<size_t>(options_.batch)) {
    std::vector<TuneExample> chunk(mine.begin() + static_cast<int64_t>(start),
                                   mine.begin() + static_cast<int64_t>(std::min(mine.size(), start + options_.batch)));
    const TuneBatch batch = make_batch(chunk);
    const int64_t n = batch.mask.sum().item<int64_t>();  // a host tensor
    sum = sum + loss_of(batch, init, nullptr, {}).to(at::kDouble) * static_cast<double>(n);
    tokens += n;
  }
  std::vector<at::Tensor> totals{at::stack({sum, at::full({}, static_cast<double>(tokens), figures)})};
  comm_.all_reduce_sum(totals);
  const at::Tensor host = to_host(totals[0]);
  const double all_tokens = host[1].item<double>();
  return all_tokens > 0 ? host[0].item<double>() / all_tokens : std::nan("");
}

}  // namespace statetune::workers
