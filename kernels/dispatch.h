// Device dispatch helpers for op front-ends (the .cpp next to each kernel).
#pragma once
#include <cstdint>

#include "runtime/error.h"

namespace ad {
// CPU loops over at least this many elements run on OpenMP threads; smaller ones stay serial (opening a
// parallel region costs microseconds). One value for every kernel's CPU path.
inline constexpr int64_t kCpuParallelMin = 16384;
}  // namespace ad

// Runs a CUDA launcher in CUDA builds; in CPU-only builds a CUDA tensor cannot exist, but say so plainly.
#if AD_WITH_CUDA
#define AD_WITH_CUDA_ONLY(op, ...) \
  do {                             \
    __VA_ARGS__;                   \
  } while (0)
#else
#define AD_WITH_CUDA_ONLY(op, ...) AD_FAIL(op, "CUDA tensor in a build without the CUDA backend")
#endif
