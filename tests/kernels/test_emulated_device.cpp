// The emulated device (Device::Emulated, kernels/dispatch.h): tensors in host memory on which every op takes its
// CUDA path. What a sequence of ops costs in launches, driver allocations and host syncs (runtime/device_counters.h)
// is asserted here op by op, so a change that adds a launch or a sync to the device path shows up; on a machine
// with a GPU the same counts are asserted on CUDA too (the two devices count at the same points).
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/activation.h"
#include "kernels/elementwise.cuh"
#include "kernels/elementwise.h"
#include "kernels/reduce.h"
#include "layers/linear.h"
#include "runtime/device_counters.h"
#include "runtime/memory.h"
#include "tests/support/helpers.h"

namespace ad {
namespace {

std::vector<Device> devices_to_count() {
  std::vector<Device> d{Device::Emulated};
  if (cuda_available()) d.push_back(Device::CUDA);
  return d;
}

// The counters' change over f().
template <class F> DeviceCounters cost_of(F&& f) {
  reset_device_counters();
  f();
  return device_counters();
}

TEST(EmulatedDevice, CopiesFillsAndSyncsCountAsOnCuda) {
  for (Device dev : devices_to_count()) {
    SCOPED_TRACE(device_name(dev));
    Tensor host = test::random_tensor({37, 5}, 7);
    Tensor d;
    DeviceCounters c = cost_of([&] { d = host.to(dev); });
    EXPECT_EQ(c.host_to_device, 1);
    EXPECT_EQ(c.host_syncs, 1);  // a synchronous copy from pageable memory
    EXPECT_EQ(c.launches, 0);
    EXPECT_EQ(d.device(), dev);
    std::vector<double> back;
    c = cost_of([&] { back = d.to_vector(); });
    EXPECT_EQ(c.device_to_host, 1);
    EXPECT_EQ(c.host_syncs, 1);
    EXPECT_EQ(back, host.to_vector());
    c = cost_of([&] { (void)d.narrow0(3, 1).view({5}).narrow0(0, 1).item(); });
    EXPECT_EQ(c.device_to_host, 1);
    EXPECT_EQ(c.host_syncs, 1);
    Tensor e;
    c = cost_of([&] { e = d.clone(); });  // device to device: stream work, no wait
    EXPECT_EQ(c.launches, 1);
    EXPECT_EQ(c.host_syncs, 0);
    c = cost_of([&] { e.zero_(); });  // a memset
    EXPECT_EQ(c.launches, 1);
    EXPECT_EQ(c.host_syncs, 0);
    c = cost_of([&] { e.fill_(2.5); });  // through a host tensor, as on CUDA: a synchronous upload
    EXPECT_EQ(c.host_to_device, 1);
    EXPECT_EQ(c.host_syncs, 1);
    EXPECT_EQ(e.to_vector(), std::vector<double>(37 * 5, 2.5));
    c = cost_of([&] { device_synchronize(dev); });
    EXPECT_EQ(c.host_syncs, 1);
  }
}

TEST(EmulatedDevice, CachingAllocatorReachesTheSystemOnlyOnAMiss) {
  release_cached_memory();
  DeviceCounters c = cost_of([] {
    for (int i = 0; i < 3; ++i) Tensor t = Tensor::empty({1000, 3}, DType::F32, Device::Emulated);
  });
  EXPECT_EQ(c.allocations, 1) << "the second and third tensors reuse the cached block";
  MemoryStats s = memory_stats(Device::Emulated);
  EXPECT_GE(s.reserved, size_t(12000));
  EXPECT_GE(s.reserved, s.current);
  c = cost_of([] { Tensor t = Tensor::empty({1000, 3}, DType::F32, Device::Emulated), u = t.clone(); });
  EXPECT_EQ(c.allocations, 1) << "one block cached, a second one from the system";
  c = cost_of([] { release_cached_memory(); });
  EXPECT_EQ(memory_stats(Device::Emulated).reserved, memory_stats(Device::Emulated).current);
}

TEST(EmulatedDevice, UnwrittenMemoryReadsAsNaN) {
  // So a kernel that reads what nobody wrote fails its parity test instead of reading a lucky zero.
  Tensor t = Tensor::empty({7}, DType::F32, Device::Emulated);
  for (double v : t.to_vector()) EXPECT_TRUE(std::isnan(v));
  Tensor z = Tensor::zeros({7}, DType::F32, Device::Emulated);
  for (double v : z.to_vector()) EXPECT_EQ(v, 0.0);
}

TEST(EmulatedDevice, LaunchesPerOpWithoutHostSyncs) {
  for (Device dev : devices_to_count()) {
    SCOPED_TRACE(device_name(dev));
    const int64_t rows = 45, in = 13, out = 7;  // one block of column sums (checked below)
    ASSERT_EQ(column_sum_config(rows, out).grid.y, 1u);
    Linear lin("fc", in, out, true, 3, dev);
    Tensor x = test::random_tensor({rows, in}, 4, -1, 1, DType::F32, dev);
    Tensor dy = test::random_tensor({rows, out}, 5, -1, 1, DType::F32, dev);
    Tensor a = Tensor::empty({rows, out}, DType::F32, dev), total = Tensor::empty({1}, DType::F32, dev);
    auto step = [&] {
      Tensor y = lin.forward(x);
      activation_forward(Activation::Tanh, y, a);
      sum_all(a, total);
      lin.backward(dy);
    };
    step();  // warm the caching allocator
    DeviceCounters c = cost_of([&] { (void)lin.forward(x); });
    EXPECT_EQ(c.launches, 2) << "gemm, bias";
    c = cost_of([&] { activation_forward(Activation::Tanh, a, a); });
    EXPECT_EQ(c.launches, 1);
    c = cost_of([&] { sum_all(a, total); });
    EXPECT_EQ(c.launches, 2) << "block partials, final sum";
    c = cost_of([&] { (void)lin.backward(dy); });
    EXPECT_EQ(c.launches, 3) << "gemm dW, column sums db, gemm dx";
    c = cost_of(step);
    EXPECT_EQ(c.launches, 8);
    EXPECT_EQ(c.host_syncs, 0) << "nothing in a step waits for the device";
    EXPECT_EQ(c.allocations, 0) << "a warm caching allocator serves the whole step";
    EXPECT_EQ(c.host_to_device + c.device_to_host, 0);
    c = cost_of([&] { (void)total.item(); });
    EXPECT_EQ(c.host_syncs, 1);
    EXPECT_EQ(c.launches, 0);
  }
}

}  // namespace
}  // namespace ad
