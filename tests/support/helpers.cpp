#include "tests/support/helpers.h"

#include "runtime/error.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace ad::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, double lo, double hi, DType dtype, Device device) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(size_t(shape.numel()));
  for (double& x : v) x = dist(gen);
  Tensor t = Tensor::from_vector(v, shape, dtype);
  return device == Device::CPU ? t : t.to(device);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an ad::Error";
  return "";
}

::testing::AssertionResult error_contains(const std::function<void()>& f, const std::string& part) {
  try {
    f();
  } catch (const Error& e) {
    if (std::string(e.what()).find(part) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\"" << part << "\" not in: " << e.what();
  }
  return ::testing::AssertionFailure() << "no ad::Error; expected one containing \"" << part << "\"";
}

uint64_t fresh_seed() {
  return uint64_t(std::chrono::high_resolution_clock::now().time_since_epoch().count());
}

double tolerance_ratio(const Tensor& a, const Tensor& b, double atol, double rtol) {
  check_same_shape("tolerance_ratio", a, b);
  auto va = a.to_vector(), vb = b.to_vector();
  double worst = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) || std::isnan(vb[i])) return INFINITY;
    double r = std::abs(va[i] - vb[i]) / (atol + rtol * std::abs(vb[i]));
    worst = std::max(worst, r);
  }
  return worst;
}

::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double atol, double rtol) {
  if (a.shape() != b.shape())
    return ::testing::AssertionFailure() << "shapes differ: " << a.describe() << " vs " << b.describe();
  auto va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i) {
    double d = std::abs(va[i] - vb[i]);
    if (!(d <= atol + rtol * std::abs(vb[i])))
      return ::testing::AssertionFailure() << "element " << i << ": " << va[i] << " vs " << vb[i] << " (|diff| "
                                           << d << ", atol " << atol << ", rtol " << rtol << ")";
  }
  return ::testing::AssertionSuccess();
}

static float canary() {
  uint32_t bits = 0x7FC0DEADu;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

GuardedBuffer::GuardedBuffer(size_t n, float init) : n_(n), buf_(n + 2 * kPad, canary()) {
  std::fill_n(buf_.begin() + kPad, n, init);
}

GuardedBuffer::GuardedBuffer(const Tensor& t) : GuardedBuffer(size_t(t.numel())) {
  Tensor c = t.to(Device::CPU);
  std::memcpy(data(), c.data<float>(), n_ * sizeof(float));
}

Tensor GuardedBuffer::tensor(const Shape& shape) const {
  Tensor t = Tensor::empty(shape, DType::F32, Device::CPU);
  EXPECT_EQ(size_t(shape.numel()), n_);
  std::memcpy(t.data<float>(), data(), n_ * sizeof(float));
  return t;
}

::testing::AssertionResult GuardedBuffer::check_canaries() const {
  for (size_t i = 0; i < buf_.size(); ++i) {
    if (i >= kPad && i < kPad + n_) continue;
    uint32_t bits;
    std::memcpy(&bits, &buf_[i], 4);
    if (bits != 0x7FC0DEADu) {
      long off = i < kPad ? long(i) - long(kPad) : long(i - kPad);
      return ::testing::AssertionFailure() << "write outside the buffer at index " << off << " (size " << n_ << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

std::string source_dir() {
  if (const char* s = std::getenv("AD_SOURCE_DIR")) return s;
  return ".";
}

std::string shared_data_dir() {
  if (const char* s = std::getenv("AD_SHARED_DATA")) return s;
  return source_dir() + "/../shared/data";
}

}  // namespace ad::test
