#include "statetune/workers/guide_agreement.h"

#include "statetune/common/error.h"

namespace statetune::workers {

GuideAgreement guide_agreement(const Rwkv7Model& student_model, const ModelState& student, const GuideTarget& guide,
                               const std::vector<TuneExample>& examples) {
  ST_CHECK(guide.model != nullptr, "guide agreement: no guide model");
  ST_CHECK(!examples.empty(), "guide agreement: no examples");
  at::NoGradGuard no_grad;
  const TuneBatch b = make_batch(examples);
  const at::Tensor s = at::log_softmax(
      student_model.forward(b.inputs, b.lengths, student.empty() ? nullptr : &student).to(at::kDouble), -1);
  const at::Tensor g = at::log_softmax(
      guide.model->forward(b.inputs, b.lengths, guide.state.empty() ? nullptr : &guide.state).to(at::kDouble), -1);
  const at::Tensor kl = (g.exp() * (g - s)).sum(-1);  // [B, T]
  const at::Tensor same = s.argmax(-1) == g.argmax(-1);
  GuideAgreement out;
  out.positions = b.mask.sum().item<int64_t>();
  ST_CHECK(out.positions > 0, "guide agreement: the examples have no target positions");
  out.kl = kl.masked_select(b.mask).mean().item<double>();
  out.agreement = same.masked_select(b.mask).to(at::kDouble).mean().item<double>();
  return out;
}

}  // namespace statetune::workers
