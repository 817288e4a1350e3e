#include "layers/linear.h"

#include <cmath>
#include <random>

#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace ad {

Linear::Linear(std::string name, int in, int out, bool bias, uint64_t seed, Device device, DType dtype)
    : name_(std::move(name)), in_(in), out_(out), has_bias_(bias) {
  AD_CHECK(in > 0 && out > 0, "Linear", name_, ": sizes must be positive, got in=", in, " out=", out);
  std::mt19937_64 gen(seed);
  double limit = std::sqrt(6.0 / double(in + out));
  std::uniform_real_distribution<double> dist(-limit, limit);
  std::vector<double> w(size_t(in) * size_t(out));
  for (double& v : w) v = dist(gen);
  Tensor wt = Tensor::from_vector(w, {out, in}, dtype);
  weight_ = Parameter("weight", device == Device::CPU ? wt : wt.to(device));
  if (bias) bias_ = Parameter("bias", Tensor::zeros({out}, dtype, device));
}

void Linear::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  std::string base = join_name(prefix, name_);
  weight_.name = join_name(base, "weight");
  out.push_back(&weight_);
  if (has_bias_) {
    bias_.name = join_name(base, "bias");
    out.push_back(&bias_);
  }
}

Tensor Linear::forward(const Tensor& x) {
  AD_CHECK(x.dim() >= 1 && x.size(x.dim() - 1) == in_, "Linear::forward", name_, ": expected [..., ", in_, "], got ",
           x.describe());
  x_shape_ = x.shape();
  int64_t rows = x.numel() / in_;
  x_ = x.view({rows, in_});
  std::vector<int64_t> ys = x.shape().to_vector();
  ys.back() = out_;
  Tensor y = Tensor::empty({rows, out_}, x.dtype(), x.device());
  gemm(false, true, 1.0, x_, weight_.value, 0.0, y);
  if (has_bias_) add_bias_rows(y, bias_.value);
  return y.view(Shape(ys));
}

Tensor Linear::backward(const Tensor& dy) {
  AD_CHECK(x_.defined(), "Linear::backward", name_, ": backward before forward");
  int64_t rows = x_.size(0);
  AD_CHECK(dy.numel() == rows * out_, "Linear::backward", name_, ": gradient ", dy.describe(), " does not match output [",
           rows, ", ", out_, "]");
  Tensor dy2 = dy.view({rows, out_});
  gemm(true, false, 1.0, dy2, x_, 1.0, weight_.grad);  // dW += dy^T x
  if (has_bias_) add_bias_rows_backward(dy2, bias_.grad, /*accumulate=*/true);
  Tensor dx = Tensor::empty({rows, in_}, dy.dtype(), dy.device());
  gemm(false, false, 1.0, dy2, weight_.value, 0.0, dx);  // dx = dy W
  return dx.view(x_shape_);
}

}  // namespace ad
