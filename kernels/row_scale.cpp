#include "kernels/row_scale.h"

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
template <class T>
void scale_rows_into_columns(const T* z, const T* w, T* out, int64_t rows, int64_t d, int64_t f, int64_t offset) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t c = 0; c < d; ++c) out[i * f + offset + c] += z[i * d + c] * w[i];
}

template <class T>
void scale_rows_into_columns_backward(const T* z, const T* w, const T* dout, T* dz, T* dw, int64_t rows, int64_t d,
                                      int64_t f, int64_t offset) {
  for (int64_t i = 0; i < rows; ++i) {
    double s = 0;
    for (int64_t c = 0; c < d; ++c) {
      const T g = dout[i * f + offset + c];
      dz[i * d + c] = g * w[i];
      s += double(g) * z[i * d + c];
    }
    dw[i] = T(s);
  }
}

template void scale_rows_into_columns<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, int64_t);
template void scale_rows_into_columns<double>(const double*, const double*, double*, int64_t, int64_t, int64_t,
                                              int64_t);
template void scale_rows_into_columns_backward<float>(const float*, const float*, const float*, float*, float*,
                                                      int64_t, int64_t, int64_t, int64_t);
template void scale_rows_into_columns_backward<double>(const double*, const double*, const double*, double*, double*,
                                                       int64_t, int64_t, int64_t, int64_t);
}  // namespace cpu

namespace {
void check_inputs(const char* op, const Tensor& z, const Tensor& w, const Tensor& out, int64_t offset) {
  check_floating(op, z);
  AD_CHECK(z.dim() == 2, op, "z must be [B, D], got ", z.describe());
  AD_CHECK(w.numel() == z.size(0) && w.dtype() == z.dtype(), op, "w must hold B = ", z.size(0),
           " values of z's dtype, got ", w.describe());
  AD_CHECK(out.dim() == 2 && out.size(0) == z.size(0) && out.dtype() == z.dtype(), op, "out must be [B, F] of z's ",
           "dtype, got ", out.describe());
  AD_CHECK(offset >= 0 && offset + z.size(1) <= out.size(1), op, "columns [", offset, ", ", offset + z.size(1),
           ") outside out's ", out.size(1));
  check_same_device(op, z, w);
  check_same_device(op, z, out);
}
}  // namespace

void scale_rows_into_columns(const Tensor& z, const Tensor& w, Tensor& out, int64_t offset) {
  const char* op = "scale_rows_into_columns";
  check_inputs(op, z, w, out, offset);
  const int64_t rows = z.size(0), d = z.size(1), f = out.size(1);
  if (z.is_device()) {
    check_dtype(op, z, DType::F32);
    AD_ON_DEVICE(op, z, scale_rows_into_columns(z.data<float>(), w.data<float>(), out.data<float>(), rows, d,
                                                f, offset));
  } else {
    dispatch_floating(op, z.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::scale_rows_into_columns<T>(z.data<T>(), w.data<T>(), out.data<T>(), rows, d, f, offset);
    });
  }
}

void scale_rows_into_columns_backward(const Tensor& z, const Tensor& w, const Tensor& dout, int64_t offset,
                                      Tensor& dz, Tensor& dw) {
  const char* op = "scale_rows_into_columns_backward";
  check_inputs(op, z, w, dout, offset);
  check_same_shape(op, z, dz);
  check_same_shape(op, w, dw);
  check_same_device(op, z, dz);
  check_same_device(op, z, dw);
  AD_CHECK(dz.dtype() == z.dtype() && dw.dtype() == z.dtype(), op, "gradients must be z's dtype");
  const int64_t rows = z.size(0), d = z.size(1), f = dout.size(1);
  if (z.is_device()) {
    check_dtype(op, z, DType::F32);
    AD_ON_DEVICE(op, z, scale_rows_into_columns_backward(z.data<float>(), w.data<float>(), dout.data<float>(),
                                                         dz.data<float>(), dw.data<float>(), rows, d, f,
                                                         offset));
  } else {
    dispatch_floating(op, z.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::scale_rows_into_columns_backward<T>(z.data<T>(), w.data<T>(), dout.data<T>(), dz.data<T>(), dw.data<T>(),
                                               rows, d, f, offset);
    });
  }
}

}  // namespace ad
