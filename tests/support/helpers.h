// Helpers shared by the tests.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "runtime/cuda_context.h"
#include "runtime/tensor.h"

namespace ad::test {

// Uniform values in [lo, hi) from a fixed seed.
Tensor random_tensor(const Shape& shape, uint64_t seed, double lo = -1.0, double hi = 1.0,
                     DType dtype = DType::F32, Device device = Device::CPU);
// Fresh (time-seeded) random tensor for GPU parity tests; the seed is printed on failure via SCOPED_TRACE.
uint64_t fresh_seed();

// max |a - b| / (atol + rtol * |b|) over elements; <= 1 means within tolerance. Shapes must match.
double tolerance_ratio(const Tensor& a, const Tensor& b, double atol, double rtol);
::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double atol = 1e-5, double rtol = 1e-4);
// Same shape and the same bytes (either tensor on any device): for results that must repeat exactly.
bool bitwise_equal(const Tensor& a, const Tensor& b);

// Host buffer with NaN canaries on both sides: a kernel that writes outside [0, n) trips
// check_canaries(), one that reads outside gets NaN into its result. It registers [0, n) with the
// emulated launch (kernels/launch.h): with the memory checks on, a kernel access outside registered
// memory is an error, and accesses inside are race-checked. Under for_each_schedule its final contents
// are compared between schedules.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t n, float init = 0.0f);
  explicit GuardedBuffer(const Tensor& t);  // copies a CPU f32 tensor
  ~GuardedBuffer();
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  float* data() { return buf_.data() + kPad; }
  const float* data() const { return buf_.data() + kPad; }
  size_t size() const { return n_; }
  Tensor tensor(const Shape& shape) const;  // copy out as a CPU f32 tensor
  ::testing::AssertionResult check_canaries() const;

 private:
  static constexpr size_t kPad = 64;
  size_t n_;
  std::vector<float> buf_;
  std::string name_;
};

// Registers other host memory an emulated kernel reads or writes (index arrays, a CPU tensor), for as
// long as it lives.
class RegisteredMemory {
 public:
  RegisteredMemory(const void* p, size_t bytes, std::string name);
  RegisteredMemory(const Tensor& t, std::string name);  // a CPU tensor's storage (nothing when undefined)
  ~RegisteredMemory();
  RegisteredMemory(const RegisteredMemory&) = delete;
  RegisteredMemory& operator=(const RegisteredMemory&) = delete;

 private:
  const void* p_;
  std::string name_;
};

// Runs `body` once under every emulation schedule (thread order per barrier phase forward, reversed and
// seeded-random; blocks in order, reversed, shuffled), with a SCOPED_TRACE naming the schedule. The final
// contents of the GuardedBuffers the body creates must be bitwise the same under every schedule, unless
// `order_dependent` (a kernel that sums with float atomics on purpose): a result that changes with the
// order threads or blocks run in is a race or an order-dependent reduction.
void for_each_schedule(const std::function<void()>& body, bool order_dependent = false);

// The message of the ad::Error that f throws; fails the current test (and returns "") when f throws none.
std::string error_of(const std::function<void()>& f);
// Success when f throws an ad::Error whose message contains `part`.
::testing::AssertionResult error_contains(const std::function<void()>& f, const std::string& part);

// A fresh folder for the current test under the system temp folder ("<prefix>_<pid>_<suite>_<test>"),
// removed with everything in it when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "ad_test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path(const std::string& name) const;                             // <dir>/<name>
  std::string write(const std::string& name, const std::string& bytes) const;  // writes, returns path(name)

 private:
  std::string dir_;
};

// The device GPU parity tests run on: the GPU when one is usable, else the emulated device (the same CUDA path,
// launch configurations, workspaces and caching allocator, with the kernels run by the emulated launch and host
// stand-ins for cuBLAS and cuSPARSE). Each call records the device as the test's "parity_device" property and
// prints one line naming it, so the output of every parity test says where it ran.
Device parity_device();
// A size for a parity test: `on_gpu` on the GPU, `emulated` on the emulated device, which runs one fiber per GPU
// thread, so shapes there stay small (but still not multiples of the block size).
int64_t parity_size(int64_t on_gpu, int64_t emulated);

// Directory with the repository (tests run from it; AD_SOURCE_DIR overrides).
std::string source_dir();
// ../shared/data relative to the repository, or AD_SHARED_DATA.
std::string shared_data_dir();

}  // namespace ad::test

// Tests that need the real CUDA driver (not the emulated device: CUDA graphs, the driver's own behaviour) call
// this first: without a usable GPU the test is skipped with the reason.
#define AD_REQUIRE_GPU()                                                            \
  do {                                                                              \
    if (!::ad::cuda_available()) GTEST_SKIP() << "no GPU: " << ::ad::cuda_status(); \
  } while (0)
