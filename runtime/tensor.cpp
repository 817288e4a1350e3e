#include "runtime/tensor.h"

#include "runtime/checked.h"

#include <cstring>
#include <sstream>

#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"
#include "runtime/memory.h"
#include "runtime/step_graph.h"

namespace ad {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
  }
  return "?";
}

const char* device_name(Device d) {
  switch (d) {
    case Device::CPU: return "cpu";
    case Device::CUDA: return "cuda";
    case Device::Emulated: return "emulated";
  }
  return "?";
}

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "cuda" || name == "gpu") return Device::CUDA;
  if (name == "emulated") return Device::Emulated;
  AD_FAIL("parse_device", "unknown device '", name, "' (known: cpu, cuda, emulated)");
}

// ---- Shape ----------------------------------------------------------------
Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::vector<int64_t>(dims)) {}

Shape::Shape(const std::vector<int64_t>& dims) {
  AD_CHECK(dims.size() <= size_t(kMaxDims), "Shape", "at most ", kMaxDims, " dims, got ", dims.size());
  n_ = int(dims.size());
  for (int i = 0; i < n_; ++i) {
    AD_CHECK(dims[i] >= 0, "Shape", "negative extent ", dims[i], " in dim ", i);
    d_[i] = dims[i];
  }
  checked_numel(dims, "Shape", "shape");  // so numel() and nbytes() can never wrap around
}

int64_t Shape::operator[](int i) const {
  AD_CHECK(i >= 0 && i < n_, "Shape", "dim ", i, " out of range for ", str());
  return d_[i];
}
int64_t& Shape::operator[](int i) {
  AD_CHECK(i >= 0 && i < n_, "Shape", "dim ", i, " out of range for ", str());
  return d_[i];
}
int64_t Shape::numel() const {
  // A zero extent anywhere makes the product 0; multiplying the others first could overflow (the constructor
  // checks the product, and allows huge extents beside a zero).
  for (int i = 0; i < n_; ++i)
    if (d_[i] == 0) return 0;
  int64_t n = 1;
  for (int i = 0; i < n_; ++i) n *= d_[i];
  return n;
}
std::string Shape::str() const {
  std::ostringstream os;
  os << "[";
  for (int i = 0; i < n_; ++i) os << (i ? "," : "") << d_[i];
  os << "]";
  return os.str();
}
bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

// ---- Storage --------------------------------------------------------------
Storage::Storage(size_t bytes, Device device) : bytes_(bytes), device_(device) {
  ptr_ = device_allocate(bytes, device);
}
Storage::~Storage() { device_free(ptr_, bytes_, device_); }

// ---- Tensor ---------------------------------------------------------------
Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  t.storage_ = std::make_shared<Storage>(std::max<size_t>(t.nbytes(), 1), device);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.zero_();
  return t;
}

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, Device::CPU);
  t.fill_(value);
  return device == Device::CPU ? t : t.to(device);
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  AD_CHECK(int64_t(values.size()) == shape.numel(), "Tensor::from_vector", values.size(),
           " values for shape ", shape.str());
  Tensor t = empty(shape, dtype, Device::CPU);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (dtype) {
      case DType::F32: t.data<float>()[i] = float(values[i]); break;
      case DType::F64: t.data<double>()[i] = values[i]; break;
      case DType::I32: t.data<int32_t>()[i] = int32_t(values[i]); break;
      case DType::I64: t.data<int64_t>()[i] = int64_t(values[i]); break;
      case DType::U8: t.data<uint8_t>()[i] = uint8_t(values[i]); break;
    }
  }
  return t;
}

int64_t Tensor::size(int i) const { return shape_[i]; }

void* Tensor::raw() const {
  AD_CHECK(defined(), "Tensor", "use of an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_;
}

Tensor Tensor::to(Device device) const {
  Tensor out = empty(shape_, dtype_, device);
  out.copy_from(*this);
  return out;
}

Tensor Tensor::to_dtype(DType dtype) const {
  AD_CHECK(device_ == Device::CPU, "Tensor::to_dtype", "CPU only, got ", describe());
  if (dtype == dtype_) return clone();
  return from_vector(to_vector(), shape_, dtype);
}

Tensor Tensor::clone() const { return to(device_); }

void Tensor::copy_from(const Tensor& src) {
  AD_CHECK(src.shape_ == shape_ && src.dtype_ == dtype_, "Tensor::copy_from", "source ", src.describe(),
           " does not match destination ", describe());
  size_t n = nbytes();
  if (n == 0) return;
  if (device_ != Device::CUDA && src.device_ != Device::CUDA) {
    // CPU and emulated-device memory are both host memory; the copy is counted as cudaMemcpy's would be.
    if (device_ == Device::Emulated && src.device_ == Device::Emulated) {  // stream work: recorded in a capture
      void* d = raw();
      const void* sp = src.raw();
      detail::emulated_submit([d, sp, n] { std::memmove(d, sp, n); });
    } else {
      AD_CHECK(!detail::emulated_capturing(), "Tensor::copy_from", "a copy between host and device inside a captured ",
               "step (it would wait for the device)");
      std::memmove(raw(), src.raw(), n);
    }
    detail::count_copy(src.device_ == Device::Emulated, device_ == Device::Emulated);
  } else {  // the emulated device's memory is host memory to CUDA
    int kind = src.device_ != Device::CUDA ? 0 : (device_ != Device::CUDA ? 1 : 2);
    detail::cuda_memcpy(raw(), src.raw(), n, kind);
  }
}

Tensor Tensor::narrow0(int64_t begin, int64_t length) const {
  AD_CHECK(dim() >= 1 && begin >= 0 && length >= 0 && begin + length <= shape_[0], "Tensor::narrow0",
           "rows [", begin, ", ", begin + length, ") out of range for ", describe());
  Tensor t = *this;
  int64_t row = numel() / std::max<int64_t>(shape_[0], 1);
  t.offset_ = offset_ + size_t(begin * row) * dtype_size(dtype_);
  t.shape_[0] = length;
  return t;
}

Tensor Tensor::view(const Shape& shape) const {
  AD_CHECK(shape.numel() == numel(), "Tensor::view", "cannot view ", describe(), " as ", shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

void Tensor::zero_() {
  if (nbytes() == 0) return;
  if (device_ == Device::CPU) std::memset(raw(), 0, nbytes());
  else device_memset_zero(raw(), nbytes(), device_);
}

void Tensor::fill_(double value) {
  if (device_ != Device::CPU) {  // a host-to-device copy, as on CUDA
    copy_from(full(shape_, value, dtype_, Device::CPU));
    return;
  }
  int64_t n = numel();
  switch (dtype_) {
    case DType::F32: std::fill_n(data<float>(), n, float(value)); break;
    case DType::F64: std::fill_n(data<double>(), n, value); break;
    case DType::I32: std::fill_n(data<int32_t>(), n, int32_t(value)); break;
    case DType::I64: std::fill_n(data<int64_t>(), n, int64_t(value)); break;
    case DType::U8: std::fill_n(data<uint8_t>(), n, uint8_t(value)); break;
  }
}

std::vector<double> Tensor::to_vector() const {
  if (device_ != Device::CPU) return to(Device::CPU).to_vector();
  std::vector<double> v(static_cast<size_t>(numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    switch (dtype_) {
      case DType::F32: v[i] = data<float>()[i]; break;
      case DType::F64: v[i] = data<double>()[i]; break;
      case DType::I32: v[i] = data<int32_t>()[i]; break;
      case DType::I64: v[i] = double(data<int64_t>()[i]); break;
      case DType::U8: v[i] = data<uint8_t>()[i]; break;
    }
  }
  return v;
}

double Tensor::item() const {
  AD_CHECK(numel() == 1, "Tensor::item", "needs one element, got ", describe());
  return to_vector()[0];
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_.str() + "@" + device_name(device_);
}

void check_same_shape(const char* op, const Tensor& a, const Tensor& b) {
  AD_CHECK(a.shape() == b.shape(), op, "shape mismatch: ", a.describe(), " vs ", b.describe());
}
void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  AD_CHECK(a.device() == b.device(), op, "device mismatch: ", a.describe(), " vs ", b.describe());
}
void check_dtype(const char* op, const Tensor& a, DType t) {
  AD_CHECK(a.dtype() == t, op, "expected ", dtype_name(t), ", got ", a.describe());
}
void check_floating(const char* op, const Tensor& a) {
  AD_CHECK(a.dtype() == DType::F32 || a.dtype() == DType::F64, op, "expected f32 or f64, got ",
           a.describe());
}

Device choose_device(const std::string& requested, const std::string& where) {
  if (requested == "cpu") return Device::CPU;
  if (requested == "cuda") {
    AD_CHECK(cuda_available(), where.c_str(), "device \"cuda\" requested but ", cuda_status());
    return Device::CUDA;
  }
  AD_CHECK(requested == "auto", where.c_str(), "device \"", requested, "\" is not one of cpu, cuda, auto");
  return cuda_available() ? Device::CUDA : Device::CPU;
}

}  // namespace ad
