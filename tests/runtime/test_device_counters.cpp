// The device counters (runtime/device_counters.h): what each counting point adds, and reset.
#include <gtest/gtest.h>

#include "runtime/device_counters.h"

namespace ad {
namespace {

TEST(DeviceCounters, CountingPointsAddToTheirCounterAndResetClears) {
  reset_device_counters();
  DeviceCounters c = device_counters();
  EXPECT_EQ(c.launches + c.allocations + c.host_syncs + c.host_to_device + c.device_to_host, 0);
  detail::count_launch();
  detail::count_allocation();
  detail::count_copy(false, true);   // host to device: a copy and a sync
  detail::count_copy(true, false);   // device to host: a copy and a sync
  detail::count_copy(true, true);    // device to device: stream work
  detail::count_copy(false, false);  // host to host: nothing the device sees
  detail::count_host_sync();
  c = device_counters();
  EXPECT_EQ(c.launches, 2);
  EXPECT_EQ(c.allocations, 1);
  EXPECT_EQ(c.host_syncs, 3);
  EXPECT_EQ(c.host_to_device, 1);
  EXPECT_EQ(c.device_to_host, 1);
  reset_device_counters();
  c = device_counters();
  EXPECT_EQ(c.launches + c.allocations + c.host_syncs + c.host_to_device + c.device_to_host, 0);
}

}  // namespace
}  // namespace ad
