// Device dispatch for op front-ends (the .cpp next to each kernel), and how one .cu file serves two devices.
//
// Devices (runtime/tensor.h): the CPU, the GPU (Device::CUDA), and the emulated device (Device::Emulated: host
// memory, but every op takes its CUDA path, with the kernels run by the emulated launch). After checking its
// arguments, an op front-end picks the path with one test and one macro:
//     if (x.is_device()) {                                    // CUDA or emulated
//       check_dtype(op, x, DType::F32);
//       AD_ON_DEVICE(op, x, relu(x.data<float>(), y.data<float>(), n));  // cuda::relu or emulated::relu
//     } else {
//       ... cpu::relu<T>(...) ...
//     }
//
// The device entry points are declared once for both backends, in the op's header:
//     AD_DEVICE_BACKENDS(
//     void relu(const float* x, float* y, int64_t n);
//     )
// which declares ad::cuda::relu and ad::emulated::relu. kernels/<op>.cu defines them once, written against
// kernels/device_backend.h:
//     #include "kernels/device_backend.h"
//     namespace ad::AD_BACKEND {
//     void relu(const float* x, float* y, int64_t n) {
//       DeviceLauncher l;
//       launch_relu(l, x, y, n);   // workspaces: Tensor::empty(..., kBackendDevice)
//     }
//     }  // namespace ad::AD_BACKEND
// and every .cu file is compiled twice: by nvcc (CUDA builds): AD_BACKEND = cuda, DeviceLauncher = CudaLauncher,
// kBackendDevice = Device::CUDA; and, in every build (CPU-only ones too), as plain C++ with AD_EMULATED_BACKEND
// defined: AD_BACKEND = emulated, DeviceLauncher = EmulatedDeviceLauncher, kBackendDevice = Device::Emulated
// (CMake writes build/emulated_backend/<op>.cpp, which defines the macro and includes kernels/<op>.cu). So the
// emulated device runs the GPU path's own launch configurations, workspaces, allocations and host-side code;
// only library calls differ: cuBLAS and cuSPARSE have host stand-ins under `#if AD_EMULATED_BACKEND` in gemm.cu
// and spmm.cu, behind the same function signatures (cuDNN is used only by a benchmark and has none).
//
// What the emulated device checks, and what not. Its launches go through the emulated launch, so every kernel
// of a whole-model run is checked for barrier and warp-mask misuse, shared-memory sizes and fiber stack
// overflow, and its fresh allocations read as NaN. The backend is not compiled with the access hooks and its
// tensors are not registered with emulation_register_buffer, so out-of-buffer accesses and races between
// threads are checked only by the per-kernel Emulated* tests (on their GuardedBuffers), not in whole-model
// runs: that would mean instrumenting the backend in every program and shadow state for every live tensor, and
// its cost was not measured. The cuBLAS and cuSPARSE stand-ins compute in plain f32 (no TF32).
#pragma once
#include <cstdint>

#include "runtime/error.h"
#include "runtime/tensor.h"

namespace ad {
// CPU loops over at least this many elements run on OpenMP threads; smaller ones stay serial (opening a
// parallel region costs microseconds). One value for every kernel's CPU path.
inline constexpr int64_t kCpuParallelMin = 16384;
}  // namespace ad

// Declares the device entry points in both backends' namespaces (ad::cuda and ad::emulated); use inside
// namespace ad.
#define AD_DEVICE_BACKENDS(...) \
  namespace cuda {              \
  __VA_ARGS__                   \
  }                             \
  namespace emulated {          \
  __VA_ARGS__                   \
  }

// Calls `cuda::<call>` for a CUDA tensor and `emulated::<call>` for an emulated one. In a build without the
// CUDA backend a CUDA tensor cannot exist, but say so plainly.
#if AD_WITH_CUDA
#define AD_CUDA_BACKEND_CALL(op, ...) ::ad::cuda::__VA_ARGS__
#else
#define AD_CUDA_BACKEND_CALL(op, ...) AD_FAIL(op, "CUDA tensor in a build without the CUDA backend")
#endif
#define AD_ON_DEVICE(op, tensor, ...)                        \
  do {                                                       \
    if ((tensor).device() == ::ad::Device::CUDA)             \
      AD_CUDA_BACKEND_CALL(op, __VA_ARGS__);                 \
    else                                                     \
      ::ad::emulated::__VA_ARGS__;                           \
  } while (0)
