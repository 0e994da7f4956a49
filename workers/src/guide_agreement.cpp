#include "statetune/workers/guide_agreement.h"
#include <ATen/core/grad_mode.h>


#include "statetune/common/error.h"
#include "statetune/workers/host_device.h"

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
  out.positions = b.mask.sum().item<int64_t>();  // the host batch
  ST_CHECK(out.positions > 0, "guide agreement: the examples have no target positions");
  const at::Tensor mask = to_device(b.mask, s.device());
  const at::Tensor host = to_host(at::stack({kl.masked_select(mask).mean(), same.masked_select(mask).to(at::kDouble).mean()}));
  out.kl = host[0].item<double>();
  out.agreement = host[1].item<double>();
  return out;
}

}  // namespace statetune::workers
