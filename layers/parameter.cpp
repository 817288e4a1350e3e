#include "layers/parameter.h"

namespace ad {

namespace {
constexpr size_t kSegmentAlignBytes = 256;
}

std::shared_ptr<ParameterBuffer> ParameterBuffer::adopt(const std::vector<Parameter*>& params) {
  const char* op = "ParameterBuffer::adopt";
  if (!params.empty() && params[0]->buffer && params[0]->buffer->holds(params)) return params[0]->buffer;
  auto b = std::make_shared<ParameterBuffer>();
  DType dt = params.empty() ? DType::F32 : params[0]->value.dtype();
  Device dev = params.empty() ? Device::CPU : params[0]->value.device();
  const int64_t align = int64_t(kSegmentAlignBytes / dtype_size(dt));
  int64_t total = 0;
  for (Parameter* p : params) {
    AD_CHECK(p->value.defined() && p->grad.defined(), op, "parameter '", p->name, "' has no value or gradient");
    AD_CHECK(p->value.dtype() == dt && p->value.device() == dev, op, "parameter '", p->name, "' is ",
             p->value.describe(), " but '", params[0]->name, "' is ", params[0]->value.describe(),
             " (one buffer holds one dtype on one device)");
    check_same_shape(op, p->value, p->grad);
    b->offsets_.push_back(total);
    total += (p->value.numel() + align - 1) / align * align;
  }
  b->values_ = Tensor::zeros({total}, dt, dev);
  b->grads_ = Tensor::zeros({total}, dt, dev);
  b->params_ = params;
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter* p = params[i];
    Tensor v = b->segment(b->values_, i), g = b->segment(b->grads_, i);
    v.copy_from(p->value);
    g.copy_from(p->grad);
    p->value = v;
    p->grad = g;
  }
  for (Parameter* p : params) p->buffer = b;
  return b;
}

bool ParameterBuffer::holds(const std::vector<Parameter*>& params) const {
  if (params != params_) return false;
  for (Parameter* p : params)
    if (p->buffer.get() != this) return false;
  return true;
}

Tensor ParameterBuffer::segment(const Tensor& flat, size_t i) const {
  AD_CHECK(flat.numel() == numel(), "ParameterBuffer::segment", "tensor ", flat.describe(), " is not laid out like ",
           "a buffer of ", numel(), " elements");
  const Shape& s = params_.at(i)->value.shape();
  return flat.narrow0(offsets_[i], s.numel()).view(s);
}

}  // namespace ad
