// Running sums kept on the device for logging, so a training loop reads its losses once per logging interval
// instead of once per step (each read is a host synchronisation):
//     t_i = scale * double(x_i)           for i < n     (x: the step's loss terms, f32 or f64)
//     acc_i += t_i                        for i < n
//     acc_n += ((0 + t_0) + t_1) + ...    when with_total (the terms' sum, in index order)
// acc is f64 with n (or n + 1) elements on x's device. The arithmetic is the host's: a loop that did
// `sum += double(x.item()) * scale` per step gets the same bits from this one. No gradient (a log, not a loss).
// CPU reference (f32, f64 terms) in accumulate.cpp; the CUDA kernel in accumulate.cuh/.cu.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "runtime/tensor.h"

namespace ad {

void accumulate_terms(const Tensor& x, double scale, Tensor& acc, bool with_total);

namespace cpu {
template <class T> void accumulate_terms(const T* x, int64_t n, double scale, double* acc, bool with_total);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void accumulate_terms(const float* x, int64_t n, double scale, double* acc, bool with_total);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
