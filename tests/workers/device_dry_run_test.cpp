// Device placement without a GPU: one tuning step (standard, kernel, dbp, a guide's KL), one
// eval batch and generation steps run end to end with the model on the meta device, where
// tensors have shapes and no values. Two mistakes fail there:
//   * a host read that does not go through workers::to_host (.item(), a CPU copy, a shape
//     that depends on values): meta tensors have no values to read;
//   * a tensor made on the CPU and mixed in: every op the dry run dispatches is watched (an
//     ATen RecordFunction callback), and one that takes a CPU tensor beside meta ones is a
//     failure, whether or not its meta kernel would have noticed (cat's does not).
// The host reads that go through to_host are counted: a training step reads the host once,
// an eval item once, a generation step once. The controls at the end show that each mistake
// is caught, so the checks above can fail.
#include <gtest/gtest.h>

#include <ATen/record_function.h>

#include <mutex>
#include <random>
#include <set>
#include <string>

#include "small_config.h"
#include "statetune/workers/evaluator.h"
#include "statetune/workers/generation.h"
#include "statetune/workers/host_device.h"
#include "statetune/workers/init_model.h"
#include "statetune/workers/kernel_calibration.h"
#include "statetune/workers/state_tuner.h"

namespace statetune::workers {
namespace {

constexpr int64_t kVocab = 97;

// While alive: every ATen op that takes a CPU tensor (not a wrapped Python-style number, which
// ATen makes of scalar arguments) together with a meta tensor is recorded, except the copies
// of the host/device edge itself (to_device, to_host).
class DeviceMixWatch {
 public:
  DeviceMixWatch() {
    active() = this;
    handle_ = at::addGlobalCallback(at::RecordFunctionCallback(&on_op).needsInputs(true));
  }
  ~DeviceMixWatch() {
    at::removeCallback(handle_);
    active() = nullptr;
  }
  std::set<std::string> mixed() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return mixed_;
  }

 private:
  static DeviceMixWatch*& active() {
    static DeviceMixWatch* watch = nullptr;
    return watch;
  }
  static std::unique_ptr<at::ObserverContext> on_op(const at::RecordFunction& fn) {
    bool meta = false, cpu = false;
    auto look = [&](const at::Tensor& t) {
      if (!t.defined()) return;
      meta = meta || t.is_meta();
      cpu = cpu || (t.is_cpu() && !t.unsafeGetTensorImpl()->is_wrapped_number());
    };
    for (const c10::IValue& v : fn.inputs()) {
      if (v.isTensor()) look(v.toTensor());
      if (v.isTensorList())
        for (const at::Tensor& t : v.toTensorVector()) look(t);
      if (v.isList())
        for (const c10::IValue& e : v.toListRef())
          if (e.isTensor()) look(e.toTensor());
    }
    if (meta && cpu && !in_host_device_copy() && active() != nullptr) {
      std::lock_guard<std::mutex> lock(active()->mutex_);
      active()->mixed_.insert(fn.name());
    }
    return nullptr;
  }

  at::CallbackHandle handle_;
  mutable std::mutex mutex_;
  std::set<std::string> mixed_;
};

std::vector<TuneExample> examples(int64_t count, int64_t len) {
  std::mt19937_64 gen(3);
  std::vector<TuneExample> out;
  for (int64_t i = 0; i < count; ++i) {
    TuneExample e{{0}, {0}};
    const int64_t n = len - (i % 3);  // padding too
    for (int64_t t = 0; t < n; ++t) {
      e.tokens.push_back(1 + static_cast<int64_t>(gen() % (kVocab - 1)));
      e.is_target.push_back(t >= n / 2);
    }
    out.push_back(e);
  }
  return out;
}

const TensorMap& weights() {
  static const TensorMap w = init_random_model(testing::small_config(2, kVocab), 7);
  return w;
}

Rwkv7Model meta_model() { return Rwkv7Model(weights(), "random", at::kFloat, at::kMeta); }

// The kernel methods' calibration reads the data (k-means), which a dry run cannot: it is
// made on the CPU with the same shapes, and its buffers are put on meta.
KernelCalibration meta_calibration(int64_t M, const std::vector<TuneExample>& ex) {
  const Rwkv7Model cpu(weights(), "random");
  KernelCalibrationOptions o;
  o.M = M;
  std::vector<std::vector<int64_t>> prompts;
  for (const auto& e : ex) prompts.push_back(e.tokens);
  KernelCalibration c = calibrate_kernel_readout(cpu, prompts, nullptr, o);
  for (auto* part : {&c.buffers.support, &c.buffers.gamma, &c.buffers.Q})
    for (at::Tensor& t : *part) t = t.to(at::kMeta);
  return c;
}

// Runs `steps` tuning steps on meta; returns the host reads they made.
int64_t reads_of_steps(TuneMethod method, int64_t steps, const GuideTarget* guide = nullptr) {
  const Rwkv7Model model = meta_model();
  const std::vector<TuneExample> ex = examples(6, 10);
  TuneOptions o;
  o.method = method;
  o.kernel.M = 8;
  o.batch = 3;
  o.trainer.steps = steps;
  o.trainer.accumulation = 2;
  o.trainer.max_grad_norm = 1.0;
  const KernelCalibration calibration = meta_calibration(8, ex);
  LocalCommunicator comm;
  StateTuner tuner(model, o, {ex, {}}, comm, guide, method == TuneMethod::kStandard ? nullptr : &calibration);
  for (const at::Tensor& p : tuner.state().parameters()) EXPECT_TRUE(p.is_meta());
  const int64_t before = host_reads();
  const DeviceMixWatch watch;
  const TrainResult r = tuner.run(false);
  EXPECT_EQ(watch.mixed(), std::set<std::string>{}) << "ops that took a CPU tensor beside meta ones";
  EXPECT_EQ(r.status, TrainStatus::kDone) << r.message;
  EXPECT_EQ(static_cast<int64_t>(r.history.size()), steps);
  for (const at::Tensor& p : tuner.state().parameters()) EXPECT_TRUE(p.is_meta());
  return host_reads() - before;
}

TEST(DeviceDryRun, StandardTuningStepStaysOnTheDeviceAndReadsTheHostOnce) {
  EXPECT_EQ(reads_of_steps(TuneMethod::kStandard, 2), 2);
}

TEST(DeviceDryRun, KernelTuningStepStaysOnTheDeviceAndReadsTheHostOnce) {
  EXPECT_EQ(reads_of_steps(TuneMethod::kKernel, 2), 2);
}

TEST(DeviceDryRun, DbpStepWithItsDecorrelationUpdateReadsTheHostOnce) {
  EXPECT_EQ(reads_of_steps(TuneMethod::kDbp, 2), 2);
}

TEST(DeviceDryRun, ObserverStepWithAGuideModelReadsTheHostOnce) {
  const Rwkv7Model guide = meta_model();
  GuideTarget target;
  target.model = &guide;
  target.state = guide.prompt_state({0, 5, 6, 7});
  target.alpha = 0.5;
  EXPECT_EQ(reads_of_steps(TuneMethod::kStandard, 2, &target), 2);
}

TEST(DeviceDryRun, AnEvalItemReadsTheHostOnceInBothSharingModes) {
  const Rwkv7Model model = meta_model();
  const std::vector<ChoiceTokens> choices = {{{0, 4, 5, 6, 7}, 3}, {{0, 4, 5, 8}, 3}, {{0, 4, 5, 9, 10, 11}, 3}};
  const ModelState state = model.prompt_state({0, 1, 2});
  for (ContextSharing sharing : {ContextSharing::shared, ContextSharing::unshared}) {
    const int64_t before = host_reads();
    const DeviceMixWatch watch;
    const std::vector<double> ll = choice_logliks(model, choices, &state, sharing);
    EXPECT_EQ(watch.mixed(), std::set<std::string>{});
    EXPECT_EQ(host_reads() - before, 1);
    EXPECT_EQ(ll.size(), choices.size());
  }
}

TEST(DeviceDryRun, AGenerationStepReadsTheHostOnceGreedyOrSampled) {
  const Rwkv7Model model = meta_model();
  for (double temperature : {0.0, 0.8}) {
    GenerationOptions g;
    g.max_tokens = 3;
    g.temperature = temperature;
    g.top_p = 0.9;
    g.stop_token = -1;  // the stand-in values are zeros: token 0 must not end it
    const int64_t before = host_reads();
    const DeviceMixWatch watch;
    const std::vector<int64_t> out = generate(model, {0, 3, 4}, {}, g, {});
    EXPECT_EQ(watch.mixed(), std::set<std::string>{});
    EXPECT_EQ(out.size(), 3u);
    EXPECT_EQ(host_reads() - before, 3);
  }
}

TEST(DeviceDryRun, ControlsEachMistakeIsCaught) {
  const Rwkv7Model model = meta_model();
  const at::Tensor logits = model.forward(at::tensor({0, 1, 2}, at::kLong).unsqueeze(0));
  ASSERT_TRUE(logits.is_meta());
  EXPECT_ANY_THROW(logits.sum().item<double>());       // a read outside to_host
  EXPECT_ANY_THROW((void)logits.to(at::kCPU));         // a copy outside to_host
  EXPECT_ANY_THROW(logits.masked_select(logits > 0));  // a shape that needs the values
  const at::Tensor total = logits.sum();
  {
    const DeviceMixWatch watch;
    (void)(logits * 2.0);  // a number: fine
    (void)at::stack({total, at::full({}, 3.0, at::kFloat)});  // a CPU scalar tensor: cat's meta kernel lets it pass
    EXPECT_EQ(watch.mixed().count("aten::stack"), 1u);
  }
  const DeviceMixWatch watch;
  EXPECT_ANY_THROW(logits + at::ones(logits.sizes(), at::kFloat));  // made on the CPU by mistake
  EXPECT_EQ(watch.mixed().count("aten::add"), 1u);
}

TEST(DeviceDryRun, OnTheCpuAStepAlsoReadsTheHostOnce) {
  const Rwkv7Model model(weights(), "random");
  TuneOptions o;
  o.batch = 3;
  o.trainer.steps = 3;
  LocalCommunicator comm;
  StateTuner tuner(model, o, {examples(6, 10), {}}, comm);
  const int64_t before = host_reads();
  ASSERT_EQ(tuner.run(false).status, TrainStatus::kDone);
  EXPECT_EQ(host_reads() - before, 3);
}

}  // namespace
}  // namespace statetune::workers
