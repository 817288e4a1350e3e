// Tensor: a contiguous n-d array (up to 5 dims) of one dtype on one device.
// Views share storage (narrow0 along the first dim for batches, view for reshapes); moves between
// devices are explicit (to(Device)), so there are no hidden copies.
// Devices: the CPU; the GPU (CUDA); and the emulated device, whose memory is host memory but on which every op
// takes its CUDA path (launch configurations, workspaces, the caching allocator) with the kernels run by the
// emulated launch (kernels/dispatch.h), so the GPU path runs in CI without a GPU. Copies to, from and on the
// emulated device are counted as the CUDA ones would be (runtime/device_counters.h).
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "runtime/error.h"

namespace ad {

enum class DType : uint8_t { F32, F64, I32, I64, U8 };
enum class Device : uint8_t { CPU, CUDA, Emulated };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
// The device a run asked for: "cpu"; "cuda" (an error naming `where` when no GPU is usable); "auto" (the GPU
// when one is usable, else the CPU). Settings loaders check the spelling; run_<model> programs call this.
Device choose_device(const std::string& requested, const std::string& where);
const char* device_name(Device d);
Device parse_device(const std::string& name);  // "cpu", "cuda" or "emulated"

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::F32; }
template <> constexpr DType dtype_of<double>() { return DType::F64; }
template <> constexpr DType dtype_of<int32_t>() { return DType::I32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::I64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::U8; }

class Shape {
 public:
  static constexpr int kMaxDims = 5;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  int ndim() const { return n_; }
  int64_t operator[](int i) const;
  int64_t& operator[](int i);
  int64_t numel() const;
  std::vector<int64_t> to_vector() const { return {d_.begin(), d_.begin() + n_}; }
  std::string str() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

// Owns one allocation; CUDA and emulated-device memory comes from the caching allocator.
class Storage {
 public:
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::CPU);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32,
                     Device device = Device::CPU);
  // A CPU tensor holding a copy of `values` (converted to dtype).
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::F32);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int dim() const { return shape_.ndim(); }
  int64_t size(int i) const;
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cuda() const { return device_ == Device::CUDA; }
  // On a device (CUDA or emulated): ops take their device path.
  bool is_device() const { return device_ != Device::CPU; }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }

  void* raw() const;
  template <class T> T* data() const {
    AD_CHECK(dtype_of<T>() == dtype_, "Tensor::data", "asked for ", dtype_name(dtype_of<T>()),
             " but tensor is ", describe());
    return static_cast<T*>(raw());
  }

  // Explicit copies.
  Tensor to(Device device) const;
  Tensor to_dtype(DType dtype) const;  // CPU only
  Tensor clone() const;
  void copy_from(const Tensor& src);  // same shape and dtype, any devices

  // Views sharing storage.
  Tensor narrow0(int64_t begin, int64_t length) const;
  Tensor view(const Shape& shape) const;

  void zero_();
  void fill_(double value);
  // Values as doubles, copied to the host from either device.
  std::vector<double> to_vector() const;
  double item() const;

  // "f32[3,4]@cpu"
  std::string describe() const;
  // Expires when the storage behind this tensor (shared by all its views) is freed: a cache keyed by
  // buffer addresses (kernels/csr_cache.h) tells a live buffer from a new one at a reused address with it.
  std::weak_ptr<const void> storage_lifetime() const { return storage_; }

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes
  Shape shape_;
  DType dtype_ = DType::F32;
  Device device_ = Device::CPU;
};

// Checks used by ops: same shape / dtype / device, with a message naming the op.
void check_same_shape(const char* op, const Tensor& a, const Tensor& b);
void check_same_device(const char* op, const Tensor& a, const Tensor& b);
void check_dtype(const char* op, const Tensor& a, DType t);
void check_floating(const char* op, const Tensor& a);

// Calls f(T{}) with T = float or double for a floating tensor (CPU references run in both).
template <class F> void dispatch_floating(const char* op, DType dt, F&& f) {
  if (dt == DType::F32) f(float{});
  else if (dt == DType::F64) f(double{});
  else AD_FAIL(op, "expected a floating dtype, got ", dtype_name(dt));
}

}  // namespace ad
