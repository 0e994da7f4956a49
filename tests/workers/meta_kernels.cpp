// Shape functions on the meta device for the ATen ops the model, the trainer and the
// evaluator use that LibTorch's C++ library leaves without one (Python registers them from
// torch/_meta_registrations.py, which a C++ program never loads). They compute output shapes
// only, as the ops' documentation defines them; they serve the device dry run
// (device_dry_run_test.cpp) and nothing else.
#include <torch/library.h>

namespace {

// Every tensor argument must be on the meta device (as a real kernel would demand one device),
// except 0-dim CPU scalars, which ATen lets meet any device.
void expect_meta(const char* op, std::initializer_list<const at::Tensor*> tensors) {
  for (const at::Tensor* t : tensors) {
    TORCH_CHECK(!t->defined() || t->is_meta() || (t->is_cpu() && t->dim() == 0), op,
                ": expected all tensors to be on the same device, but found meta and ", t->device());
  }
}

at::Tensor relu_meta(const at::Tensor& self) { return at::empty_like(self); }

at::Tensor where_meta(const at::Tensor& condition, const at::Tensor& self, const at::Tensor& other) {
  expect_meta("where", {&condition, &self, &other});
  const auto shape = at::infer_size(at::infer_size(condition.sizes(), self.sizes()), other.sizes());
  return at::empty(shape, self.options().dtype(at::result_type(self, other)));
}

at::Tensor index_select_meta(const at::Tensor& self, int64_t dim, const at::Tensor& index) {
  expect_meta("index_select", {&self, &index});
  std::vector<int64_t> shape = self.sizes().vec();
  if (!shape.empty()) shape[static_cast<size_t>(at::maybe_wrap_dim(dim, self.dim()))] = index.numel();
  return at::empty(shape, self.options());
}

// Training-mode statistics (what group_norm and layer_norm decompose into here): the output,
// then the mean and 1/std per channel (dim 1).
std::tuple<at::Tensor, at::Tensor, at::Tensor> native_batch_norm_meta(const at::Tensor& input,
                                                                      const std::optional<at::Tensor>&,
                                                                      const std::optional<at::Tensor>&,
                                                                      const std::optional<at::Tensor>&,
                                                                      const std::optional<at::Tensor>&, bool, double,
                                                                      double) {
  const int64_t C = input.dim() > 1 ? input.size(1) : 1;
  return {at::empty_like(input), at::empty({C}, input.options()), at::empty({C}, input.options())};
}

// An elementwise unary op's out= form, `op.out(Tensor self, *, Tensor(a!) out)`: out takes
// self's shape (its dtype is the caller's choice).
at::Tensor& unary_out_meta(const at::Tensor& self, at::Tensor& out) {
  expect_meta("a unary op", {&self, &out});
  out.resize_(self.sizes());
  return out;
}

at::Tensor searchsorted_meta(const at::Tensor& sorted, const at::Tensor& self, bool out_int32, bool,
                             std::optional<c10::string_view>, const std::optional<at::Tensor>& sorter) {
  expect_meta("searchsorted", {&sorted, &self});
  if (sorter) expect_meta("searchsorted", {&*sorter});
  return at::empty(self.sizes(), self.options().dtype(out_int32 ? at::kInt : at::kLong));
}

at::Tensor like_if(bool wanted, const std::optional<at::Tensor>& t) {
  return wanted && t && t->defined() ? at::empty_like(*t) : at::Tensor();
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> native_layer_norm_backward_meta(
    const at::Tensor& grad_out, const at::Tensor& input, c10::SymIntArrayRef, const at::Tensor& mean,
    const at::Tensor& rstd, const std::optional<at::Tensor>& weight, const std::optional<at::Tensor>& bias,
    std::array<bool, 3> mask) {
  expect_meta("native_layer_norm_backward", {&grad_out, &input, &mean, &rstd});
  return {mask[0] ? at::empty_like(input) : at::Tensor(), like_if(mask[1], weight), like_if(mask[2], bias)};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> native_group_norm_backward_meta(
    const at::Tensor& grad_out, const at::Tensor& input, const at::Tensor& mean, const at::Tensor& rstd,
    const std::optional<at::Tensor>& /*weight*/, c10::SymInt, c10::SymInt C, c10::SymInt, int64_t,
    std::array<bool, 3> mask) {
  expect_meta("native_group_norm_backward", {&grad_out, &input, &mean, &rstd});
  const int64_t channels = C.expect_int();
  return {mask[0] ? at::empty_like(input) : at::Tensor(),
          mask[1] ? at::empty({channels}, input.options()) : at::Tensor(),
          mask[2] ? at::empty({channels}, input.options()) : at::Tensor()};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, Meta, m) {
  m.impl("index_select", TORCH_FN(index_select_meta));
  m.impl("native_batch_norm", TORCH_FN(native_batch_norm_meta));
  m.impl("relu", TORCH_FN(relu_meta));
  m.impl("where.self", TORCH_FN(where_meta));
  for (const char* op : {"abs.out", "logical_not.out"}) m.impl(op, TORCH_FN(unary_out_meta));
  m.impl("searchsorted.Tensor", TORCH_FN(searchsorted_meta));
  m.impl("native_layer_norm_backward", TORCH_FN(native_layer_norm_backward_meta));
  m.impl("native_group_norm_backward", TORCH_FN(native_group_norm_backward_meta));
}
