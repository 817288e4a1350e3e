// What a kernels/*.cu file is compiled against: the CUDA backend (nvcc) or, with AD_EMULATED_BACKEND defined
// (plain C++, every build), the emulated device's. The scheme is described in kernels/dispatch.h.
//   AD_BACKEND       the namespace the file defines its entry points in (ad::cuda or ad::emulated)
//   DeviceLauncher   CudaLauncher, or EmulatedDeviceLauncher
//   kBackendDevice   where the file's workspaces live: Device::CUDA or Device::Emulated
#pragma once
#include "kernels/launch.h"
#include "runtime/device_counters.h"
#include "runtime/step_graph.h"
#include "runtime/tensor.h"

#if AD_EMULATED_BACKEND
#define AD_BACKEND emulated
namespace ad {
// The emulated launch (kernels/launch.h) behind CudaLauncher's interface and bookkeeping: an empty grid
// launches nothing, every other launch is counted.
struct EmulatedDeviceLauncher {
  template <class K, class... Args> void launch(const LaunchConfig& cfg, Args... args) {
    if (cfg.grid.x == 0 || cfg.grid.y == 0 || cfg.grid.z == 0) return;
    // Run now, or recorded for replay while a step is being captured (runtime/step_graph.h).
    detail::emulated_submit([cfg, args...] {
      EmulatedLauncher l;
      l.template launch<K>(cfg, args...);
    });
    detail::count_launch();
  }
  static constexpr bool on_device = true;
};
using DeviceLauncher = EmulatedDeviceLauncher;
inline constexpr Device kBackendDevice = Device::Emulated;
}  // namespace ad
#else
#include "kernels/cuda_launch.cuh"
#define AD_BACKEND cuda
namespace ad {
using DeviceLauncher = CudaLauncher;
inline constexpr Device kBackendDevice = Device::CUDA;
}  // namespace ad
#endif
