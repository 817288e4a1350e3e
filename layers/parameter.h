// Parameters and their gradients, registered per layer so an optimizer and a checkpoint can walk
// them by name ("encoder.conv0.weight").
//
// Flat buffers: an optimizer gathers its parameters into one ParameterBuffer (ParameterBuffer::adopt), so
// the values of all of them lie in one contiguous tensor and their gradients in another; each Parameter's
// value and grad then are views of its segment. The update is one launch over the whole buffer and
// zero-grad one memset (llm.c's layout), whatever the number of parameters. Layers keep using
// `weight_.value` and `weight_.grad` as before: a view is a Tensor like any other.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

class ParameterBuffer;

struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;  // same shape/dtype/device as value; backward accumulates into it
  // The flat buffer value and grad are views of (set by ParameterBuffer::adopt), or null.
  std::shared_ptr<ParameterBuffer> buffer;

  Parameter() = default;
  Parameter(std::string n, Tensor v) : name(std::move(n)), value(std::move(v)) {
    grad = Tensor::zeros(value.shape(), value.dtype(), value.device());
  }
  // Moves value and grad to device d as tensors of their own (out of any flat buffer: an optimizer built
  // before the move refuses to step; build it after).
  void to(Device d) {
    value = value.to(d);
    grad = grad.to(d);
    buffer.reset();
  }
};

// One value buffer and one gradient buffer holding a list of parameters of one dtype and device, each
// parameter's segment starting on a 256-byte boundary (the alignment of a fresh allocation, which vector
// loads in kernels may rely on). The gaps between segments hold zeros in both buffers and stay zero under
// Adam and SGD (a zero gradient moves nothing), so an update may run over the whole buffer.
class ParameterBuffer {
 public:
  // Copies the parameters' values (and gradients) into a new pair of buffers and points each Parameter at
  // its segment. When `params` are already exactly the parameters of one buffer, in order, returns that one.
  static std::shared_ptr<ParameterBuffer> adopt(const std::vector<Parameter*>& params);

  const Tensor& values() const { return values_; }  // 1-D, numel() elements
  const Tensor& grads() const { return grads_; }
  int64_t numel() const { return values_.numel(); }
  DType dtype() const { return values_.dtype(); }
  Device device() const { return values_.device(); }
  const std::vector<Parameter*>& parameters() const { return params_; }
  // True when `params` are this buffer's, in order, and each still holds views of it.
  bool holds(const std::vector<Parameter*>& params) const;
  // Zeros every gradient: one memset over the gradient buffer.
  void zero_grad() { grads_.zero_(); }
  // Parameter i's segment of a tensor laid out like the buffer (an optimizer's moments), in its shape.
  Tensor segment(const Tensor& flat, size_t i) const;
  int64_t offset(size_t i) const { return offsets_.at(i); }

 private:
  std::vector<Parameter*> params_;
  std::vector<int64_t> offsets_;  // elements
  Tensor values_, grads_;
};

// A layer owns Parameters and lists them with a name prefix.
class Module {
 public:
  virtual ~Module() = default;
  virtual void collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) = 0;

  std::vector<Parameter*> parameters(const std::string& prefix = "") {
    std::vector<Parameter*> out;
    collect_parameters(prefix, out);
    return out;
  }
  // One memset when the module's parameters are exactly one flat buffer's, else one per parameter.
  void zero_grad() {
    std::vector<Parameter*> ps = parameters();
    if (!ps.empty() && ps[0]->buffer && ps[0]->buffer->holds(ps)) {
      ps[0]->buffer->zero_grad();
      return;
    }
    for (Parameter* p : ps) p->grad.zero_();
  }
  void to(Device d) {
    for (Parameter* p : parameters()) p->to(d);
  }
};

inline std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace ad
