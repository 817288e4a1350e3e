#include "kernels/attention_pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"

namespace ad {

namespace cpu {
namespace {

template <class T>
void pool_forward(const T* x, const T* gate, const int64_t* gp, T* weight, T* out, int64_t B, int64_t C) {
#pragma omp parallel for if (B * C > 16384)
  for (int64_t b = 0; b < B; ++b) {
    double m = -INFINITY, s = 0;
    for (int64_t n = gp[b]; n < gp[b + 1]; ++n) m = std::max(m, double(gate[n]));
    for (int64_t n = gp[b]; n < gp[b + 1]; ++n) s += std::exp(double(gate[n]) - m);
    for (int64_t n = gp[b]; n < gp[b + 1]; ++n) weight[n] = T(std::exp(double(gate[n]) - m) / s);
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int64_t n = gp[b]; n < gp[b + 1]; ++n) acc += double(weight[n]) * double(x[n * C + c]);
      out[b * C + c] = T(acc);
    }
  }
}

template <class T>
void pool_backward(const T* x, const T* weight, const int64_t* gp, const T* dout, T* dx, T* dgate, int64_t B,
                   int64_t C) {
#pragma omp parallel for if (B * C > 16384)
  for (int64_t b = 0; b < B; ++b) {
    const T* db = dout + b * C;
    std::vector<double> dot(size_t(gp[b + 1] - gp[b]));
    double rs = 0;
    for (int64_t n = gp[b]; n < gp[b + 1]; ++n) {
      double d = 0;
      for (int64_t c = 0; c < C; ++c) d += double(db[c]) * double(x[n * C + c]);
      dot[size_t(n - gp[b])] = d;
      rs += double(weight[n]) * d;
    }
    for (int64_t n = gp[b]; n < gp[b + 1]; ++n) {
      dgate[n] = T(double(weight[n]) * (dot[size_t(n - gp[b])] - rs));
      for (int64_t c = 0; c < C; ++c) dx[n * C + c] = T(double(weight[n]) * double(db[c]));
    }
  }
}

}  // namespace
}  // namespace cpu

namespace {

// Checks x [N, C] and graph_ptr I64 [B+1] (contents too when on the CPU: 0 .. N, non-decreasing); returns B.
int64_t check_pool(const char* op, const Tensor& x, const Tensor& graph_ptr) {
  AD_CHECK(x.defined() && x.dim() == 2, op, "x must be [N, C], got ", x.defined() ? x.describe() : "undefined");
  check_floating(op, x);
  if (x.is_device()) check_dtype(op, x, DType::F32);
  AD_CHECK(graph_ptr.defined() && graph_ptr.dim() == 1 && graph_ptr.numel() >= 1 && graph_ptr.dtype() == DType::I64,
           op, "graph_ptr must be I64 [B+1], got ", graph_ptr.defined() ? graph_ptr.describe() : "undefined");
  check_same_device(op, x, graph_ptr);
  const int64_t B = graph_ptr.numel() - 1;
  if (!graph_ptr.is_device()) {
    const int64_t* gp = graph_ptr.data<int64_t>();
    AD_CHECK(gp[0] == 0 && gp[B] == x.size(0), op, "graph_ptr must run from 0 to ", x.size(0), ", got ", gp[0],
             " .. ", gp[B]);
    for (int64_t b = 0; b < B; ++b)
      AD_CHECK(gp[b] <= gp[b + 1], op, "graph_ptr decreases at ", b, ": ", gp[b], " > ", gp[b + 1]);
  }
  return B;
}

void check_like(const char* op, const char* name, const Tensor& t, const Tensor& x, const Shape& shape) {
  AD_CHECK(t.defined() && t.shape() == shape && t.dtype() == x.dtype(), op, name, " must be ", shape.str(), " ",
           dtype_name(x.dtype()), ", got ", t.defined() ? t.describe() : "undefined");
  check_same_device(op, t, x);
}

}  // namespace

void attention_pool_forward(const Tensor& x, const Tensor& gate, const Tensor& graph_ptr, Tensor& weight,
                            Tensor& out) {
  const char* op = "attention_pool_forward";
  const int64_t B = check_pool(op, x, graph_ptr), N = x.size(0), C = x.size(1);
  check_like(op, "gate", gate, x, Shape{N});
  check_like(op, "weight", weight, x, Shape{N});
  check_like(op, "out", out, x, Shape{B, C});
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, attention_pool_forward(x.data<float>(), gate.data<float>(), graph_ptr.data<int64_t>(),
                                               weight.data<float>(), out.data<float>(), B, C));
    return;
  }
  dispatch_floating(op, x.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::pool_forward<T>(x.data<T>(), gate.data<T>(), graph_ptr.data<int64_t>(), weight.data<T>(), out.data<T>(), B,
                         C);
  });
}

void attention_pool_backward(const Tensor& x, const Tensor& weight, const Tensor& graph_ptr, const Tensor& dout,
                             Tensor& dx, Tensor& dgate) {
  const char* op = "attention_pool_backward";
  const int64_t B = check_pool(op, x, graph_ptr), N = x.size(0), C = x.size(1);
  check_like(op, "weight", weight, x, Shape{N});
  check_like(op, "dout", dout, x, Shape{B, C});
  check_like(op, "dx", dx, x, Shape{N, C});
  check_like(op, "dgate", dgate, x, Shape{N});
  if (x.is_device()) {
    AD_ON_DEVICE(op, x, attention_pool_backward(x.data<float>(), weight.data<float>(),
                                                graph_ptr.data<int64_t>(), dout.data<float>(),
                                                dx.data<float>(), dgate.data<float>(), B, C));
    return;
  }
  dispatch_floating(op, x.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::pool_backward<T>(x.data<T>(), weight.data<T>(), graph_ptr.data<int64_t>(), dout.data<T>(), dx.data<T>(),
                          dgate.data<T>(), B, C);
  });
}

}  // namespace ad
