// Parameters and their gradients, registered per layer so an optimizer and a checkpoint can walk
// them by name ("encoder.conv0.weight").
#pragma once
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

struct Parameter {
  std::string name;
  Tensor value;
  Tensor grad;  // same shape/dtype/device as value; backward accumulates into it

  Parameter() = default;
  Parameter(std::string n, Tensor v) : name(std::move(n)), value(std::move(v)) {
    grad = Tensor::zeros(value.shape(), value.dtype(), value.device());
  }
  void to(Device d) {
    value = value.to(d);
    grad = grad.to(d);
  }
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
  void zero_grad() {
    for (Parameter* p : parameters()) p->grad.zero_();
  }
  void to(Device d) {
    for (Parameter* p : parameters()) p->to(d);
  }
};

inline std::string join_name(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace ad
