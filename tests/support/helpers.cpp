#include "tests/support/helpers.h"

#include "kernels/launch.h"
#include "runtime/error.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

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

Device parity_device() {
  const Device d = cuda_available() ? Device::CUDA : Device::Emulated;
  const std::string where = d == Device::CUDA ? "cuda (" + cuda_status() + ")" : "emulated (" + cuda_status() + ")";
  ::testing::Test::RecordProperty("parity_device", device_name(d));
  std::printf("[ parity   ] device: %s\n", where.c_str());
  return d;
}

int64_t parity_size(int64_t on_gpu, int64_t emulated) { return cuda_available() ? on_gpu : emulated; }

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  Tensor ha = a.to(Device::CPU), hb = b.to(Device::CPU);
  return ha.dtype() == hb.dtype() && ha.shape() == hb.shape() && std::memcmp(ha.raw(), hb.raw(), ha.nbytes()) == 0;
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

namespace {
// The final contents of the GuardedBuffers of one run of a for_each_schedule body, in creation order.
std::vector<std::vector<uint32_t>>* schedule_record = nullptr;
}  // namespace

GuardedBuffer::GuardedBuffer(size_t n, float init)
    : n_(n), buf_(n + 2 * kPad, canary()), name_("GuardedBuffer of " + std::to_string(n) + " floats") {
  std::fill_n(buf_.begin() + kPad, n, init);
  emulation_register_buffer(data(), n_ * sizeof(float), name_.c_str());
}

GuardedBuffer::~GuardedBuffer() {
  emulation_unregister_buffer(data());
  if (schedule_record) {
    std::vector<uint32_t> bits(n_);
    std::memcpy(bits.data(), data(), n_ * sizeof(float));
    schedule_record->push_back(std::move(bits));
  }
}

RegisteredMemory::RegisteredMemory(const void* p, size_t bytes, std::string name)
    : p_(bytes > 0 ? p : nullptr), name_(std::move(name)) {
  if (p_) emulation_register_buffer(p_, bytes, name_.c_str());
}

RegisteredMemory::RegisteredMemory(const Tensor& t, std::string name)
    : RegisteredMemory(t.defined() ? t.raw() : nullptr, t.defined() ? t.nbytes() : 0, std::move(name)) {}

RegisteredMemory::~RegisteredMemory() {
  if (p_) emulation_unregister_buffer(p_);
}

void for_each_schedule(const std::function<void()>& body, bool order_dependent) {
  size_t count = 0;
  const EmulationSchedule* all = emulation_schedules(&count);
  const EmulationSchedule before = emulation_schedule();
  std::vector<std::vector<uint32_t>> first;
  for (size_t k = 0; k < count; ++k) {
    SCOPED_TRACE(std::string("emulation schedule: ") + all[k].name);
    std::vector<std::vector<uint32_t>> record;
    schedule_record = &record;
    set_emulation_schedule(all[k]);
    try {
      body();
    } catch (...) {
      schedule_record = nullptr;
      set_emulation_schedule(before);
      throw;
    }
    schedule_record = nullptr;
    set_emulation_schedule(before);
    if (k == 0) {
      first = std::move(record);
      continue;
    }
    if (order_dependent) continue;
    EXPECT_EQ(record.size(), first.size()) << "the body created a different number of GuardedBuffers";
    for (size_t i = 0; i < record.size() && i < first.size(); ++i) {
      if (record[i] == first[i]) continue;
      size_t e = 0;
      while (e < record[i].size() && e < first[i].size() && record[i][e] == first[i][e]) ++e;
      ADD_FAILURE() << "GuardedBuffer #" << i << " (" << record[i].size() << " floats) differs at element " << e
                    << " between schedules " << all[0].name << " and " << all[k].name
                    << ": the result depends on the order threads or blocks run in";
      return;  // one report per body
    }
  }
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

TempDir::TempDir(const std::string& prefix) {
  namespace fs = std::filesystem;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = prefix + "_" + std::to_string(::getpid());
  if (info) name += std::string("_") + info->test_suite_name() + "_" + info->name();
  dir_ = (fs::temp_directory_path() / name).string();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TempDir::path(const std::string& name) const { return dir_ + "/" + name; }

std::string TempDir::write(const std::string& name, const std::string& bytes) const {
  std::ofstream(path(name), std::ios::binary) << bytes;
  return path(name);
}

}  // namespace ad::test
