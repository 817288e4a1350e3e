#include "tests/support/gradcheck.h"

#include <cmath>
#include <random>
#include <sstream>

namespace ad::test {

namespace {
double dot(const Tensor& a, const Tensor& b) {
  const double* x = a.data<double>();
  const double* y = b.data<double>();
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += x[i] * y[i];
  return s;
}
}  // namespace

GradCheckReport grad_check(const std::vector<Tensor>& inputs, const std::vector<Parameter*>& params,
                           const std::function<Tensor()>& forward,
                           const std::function<std::vector<Tensor>(const Tensor&)>& backward,
                           const GradCheckOptions& opts) {
  for (const Tensor& t : inputs) check_dtype("grad_check", t, DType::F64);
  for (Parameter* p : params) check_dtype("grad_check", p->value, DType::F64);

  Tensor out = forward();
  check_dtype("grad_check", out, DType::F64);
  std::mt19937_64 gen(opts.seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  Tensor r = Tensor::empty(out.shape(), DType::F64);
  for (int64_t i = 0; i < r.numel(); ++i) r.data<double>()[i] = dist(gen);

  for (Parameter* p : params) p->grad.zero_();
  std::vector<Tensor> grads = backward(r);
  AD_CHECK(grads.size() == inputs.size(), "grad_check", "backward returned ", grads.size(), " gradients for ",
           inputs.size(), " inputs");
  // Copy: later forward/backward calls may reuse buffers.
  std::vector<Tensor> analytic;
  std::vector<std::string> names;
  std::vector<Tensor> targets;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_same_shape("grad_check", inputs[i], grads[i]);
    analytic.push_back(grads[i].clone());
    names.push_back("input" + std::to_string(i));
    targets.push_back(inputs[i]);
  }
  for (Parameter* p : params) {
    analytic.push_back(p->grad.clone());
    names.push_back(p->name);
    targets.push_back(p->value);
  }

  GradCheckReport rep;
  for (size_t k = 0; k < targets.size(); ++k) {
    Tensor& t = targets[k];
    int64_t n = t.numel();
    int64_t probes = std::min<int64_t>(n, opts.max_probes_per_tensor);
    for (int64_t j = 0; j < probes; ++j) {
      int64_t idx = (j * n) / probes;
      double* v = t.data<double>() + idx;
      double saved = *v;
      *v = saved + opts.eps;
      double lp = dot(forward(), r);
      *v = saved - opts.eps;
      double lm = dot(forward(), r);
      *v = saved;
      double numeric = (lp - lm) / (2 * opts.eps);
      double a = analytic[k].data<double>()[idx];
      double err = std::abs(a - numeric) / std::max({1.0, std::abs(a), std::abs(numeric)});
      ++rep.probes;
      if (err > rep.max_error) {
        rep.max_error = err;
        std::ostringstream os;
        os << names[k] << "[" << idx << "]: analytic " << a << ", numeric " << numeric << " (error " << err << ")";
        rep.worst = os.str();
      }
    }
  }
  rep.ok = rep.max_error <= opts.tolerance;
  return rep;
}

}  // namespace ad::test
