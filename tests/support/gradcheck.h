// Gradient checker (Caffe's idea): compares a hand-written backward with central finite differences
// in double precision. The scalar probed is L = sum(out * R) for a fixed random R, so dL/dout = R.
//
//   forward()   computes the output from the current values of `inputs` and the parameters
//               (the checker perturbs those tensors in place, so forward must read them each call);
//   backward(R) returns d L / d inputs (one tensor per input, same order) and accumulates
//               d L / d parameter into each Parameter::grad (the checker zeroes them first).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "layers/parameter.h"
#include "runtime/tensor.h"

namespace ad::test {

struct GradCheckOptions {
  double eps = 1e-6;
  double tolerance = 1e-6;    // on |analytic - numeric| / max(1, |analytic|, |numeric|)
  int max_probes_per_tensor = 64;  // elements probed per tensor (all if smaller), spread evenly
  uint64_t seed = 1234;
};

struct GradCheckReport {
  bool ok = true;
  double max_error = 0;
  std::string worst;  // which tensor/element had the worst error, with both values
  int probes = 0;
};

GradCheckReport grad_check(const std::vector<Tensor>& inputs, const std::vector<Parameter*>& params,
                           const std::function<Tensor()>& forward,
                           const std::function<std::vector<Tensor>(const Tensor&)>& backward,
                           const GradCheckOptions& opts = {});

}  // namespace ad::test

// EXPECT that a check passes, printing the worst element when it does not.
#define AD_EXPECT_GRADCHECK(report)                                                   \
  do {                                                                                \
    auto r_ = (report);                                                               \
    EXPECT_TRUE(r_.ok) << "gradient check failed; worst: " << r_.worst;               \
    EXPECT_GT(r_.probes, 0) << "gradient check probed nothing";                        \
  } while (0)
