#include "kernels/accumulate.h"

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T> void accumulate_terms(const T* x, int64_t n, double scale, double* acc, bool with_total) {
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double t = double(x[i]) * scale;
    acc[i] += t;
    total += t;
  }
  if (with_total) acc[n] += total;
}
template void accumulate_terms<float>(const float*, int64_t, double, double*, bool);
template void accumulate_terms<double>(const double*, int64_t, double, double*, bool);
}  // namespace cpu

void accumulate_terms(const Tensor& x, double scale, Tensor& acc, bool with_total) {
  const char* op = "accumulate_terms";
  check_floating(op, x);
  check_dtype(op, acc, DType::F64);
  check_same_device(op, x, acc);
  AD_CHECK(acc.numel() == x.numel() + (with_total ? 1 : 0), op, "accumulator ", acc.describe(), " for ",
           x.describe(), with_total ? " and their total" : "");
  if (x.is_device()) {
    check_dtype(op, x, DType::F32);
    AD_ON_DEVICE(op, x, accumulate_terms(x.data<float>(), x.numel(), scale, acc.data<double>(), with_total));
  } else {
    dispatch_floating(op, x.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::accumulate_terms<T>(x.data<T>(), x.numel(), scale, acc.data<double>(), with_total);
    });
  }
}

}  // namespace ad
