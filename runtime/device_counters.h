// What the GPU path costs the host, counted where it happens: kernel launches, allocations that reach the
// driver, host waits and copies. Tests read the difference over one training step (reset, step, read) to
// assert a step's cost; the emulated device (Device::Emulated) counts at the same points as CUDA, so the
// figures mean the same in CI without a GPU.
//
//   launches        work enqueued on the stream: every kernel launch through the launcher (a grid of zero
//                   blocks launches nothing and is not counted), every memset, every device-to-device copy,
//                   and every cuBLAS/cuSPARSE call (counted as one, whatever it launches inside)
//   allocations     allocations that reach the driver (cudaMalloc) or, on the emulated device, the system;
//                   blocks reused from the caching allocator are not counted
//   host_syncs      every point where the host waits for the device: device-to-host copies (item(),
//                   to_vector(), to(Device::CPU)), synchronous host-to-device copies (cudaMemcpy from pageable
//                   memory returns only once the source may be reused), stream/device synchronisation, and
//                   cudaFree (which synchronises the device)
//   host_to_device, device_to_host   copies in each direction (each also counted above as the sync it is)
// Counts are process-wide atomics (any thread may launch).
#pragma once
#include <cstdint>

namespace ad {

struct DeviceCounters {
  int64_t launches = 0, allocations = 0, host_syncs = 0, host_to_device = 0, device_to_host = 0;
};

DeviceCounters device_counters();
void reset_device_counters();

// The counting points (CudaLauncher, the emulated launcher, the allocators, copies and synchronisation).
namespace detail {
void count_launch();
void count_allocation();
void count_host_sync();
void count_host_to_device();
void count_device_to_host();
// One copy through the synchronous copy path: host-to-device and device-to-host count as the copy and a host
// sync, device-to-device as a launch (stream work the host does not wait for).
void count_copy(bool src_on_device, bool dst_on_device);
}  // namespace detail

}  // namespace ad
