#include "runtime/device_counters.h"

#include <atomic>

namespace ad {

namespace {
struct AtomicCounters {
  std::atomic<int64_t> launches{0}, allocations{0}, host_syncs{0}, host_to_device{0}, device_to_host{0};
};
AtomicCounters& counters() {
  static AtomicCounters c;
  return c;
}
}  // namespace

DeviceCounters device_counters() {
  AtomicCounters& c = counters();
  DeviceCounters d;
  d.launches = c.launches.load(std::memory_order_relaxed);
  d.allocations = c.allocations.load(std::memory_order_relaxed);
  d.host_syncs = c.host_syncs.load(std::memory_order_relaxed);
  d.host_to_device = c.host_to_device.load(std::memory_order_relaxed);
  d.device_to_host = c.device_to_host.load(std::memory_order_relaxed);
  return d;
}

void reset_device_counters() {
  AtomicCounters& c = counters();
  c.launches = 0;
  c.allocations = 0;
  c.host_syncs = 0;
  c.host_to_device = 0;
  c.device_to_host = 0;
}

namespace detail {
void count_launch() { counters().launches.fetch_add(1, std::memory_order_relaxed); }
void count_allocation() { counters().allocations.fetch_add(1, std::memory_order_relaxed); }
void count_host_sync() { counters().host_syncs.fetch_add(1, std::memory_order_relaxed); }
void count_host_to_device() { counters().host_to_device.fetch_add(1, std::memory_order_relaxed); }
void count_device_to_host() { counters().device_to_host.fetch_add(1, std::memory_order_relaxed); }
void count_copy(bool src_on_device, bool dst_on_device) {
  if (src_on_device && dst_on_device) return count_launch();
  if (!src_on_device && !dst_on_device) return;
  if (dst_on_device) count_host_to_device();
  else count_device_to_host();
  count_host_sync();
}
}  // namespace detail

}  // namespace ad
