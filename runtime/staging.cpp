#define AD_CUDA_HOST_CODE 1
#include "runtime/staging.h"

#include <cstdlib>
#include <cstring>

#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"

namespace ad {

BatchUploader::BatchUploader(Device device, int slots) : device_(device), slots_(size_t(slots < 1 ? 1 : slots)) {}

BatchUploader::~BatchUploader() {
  for (Slot& s : slots_) release(s);
}

void BatchUploader::release(Slot& s) {
#if AD_WITH_CUDA
  if (device_ == Device::CUDA) {
    if (s.event) cudaEventSynchronize(static_cast<cudaEvent_t>(s.event));  // the copy must be done with it
    if (s.event) cudaEventDestroy(static_cast<cudaEvent_t>(s.event));
    if (s.pinned) cudaFreeHost(s.pinned);
    s = Slot{};
    return;
  }
#endif
  std::free(s.pinned);
  s = Slot{};
}

Tensor BatchUploader::upload(const Tensor& host) {
  AD_CHECK(host.device() == Device::CPU, "BatchUploader::upload", "expected a host tensor, got ", host.describe());
  if (device_ == Device::CPU) return host;
  Tensor dst = Tensor::empty(host.shape(), host.dtype(), device_);
  upload_into(host, dst);
  return dst;
}

void BatchUploader::upload_into(const Tensor& host, Tensor& dst) {
  const char* op = "BatchUploader::upload_into";
  AD_CHECK(host.device() == Device::CPU, op, "expected a host tensor, got ", host.describe());
  AD_CHECK(dst.device() == device_ && dst.shape() == host.shape() && dst.dtype() == host.dtype(), op, "destination ",
           dst.describe(), " does not match ", host.describe(), " on ", device_name(device_));
  if (device_ == Device::CPU) {
    dst.copy_from(host);
    return;
  }
  Slot& s = slots_[next_];
  next_ = (next_ + 1) % slots_.size();
  const size_t n = host.nbytes();
  if (n == 0) return;
#if AD_WITH_CUDA
  if (device_ == Device::CUDA) {
    if (s.pending && cudaEventQuery(static_cast<cudaEvent_t>(s.event)) == cudaErrorNotReady) {
      detail::count_host_sync();  // the host is `slots` batches ahead of the device: it waits here
      AD_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(s.event)));
    }
    if (s.bytes < n) {  // first use, or a larger batch: the only allocations (warm-up)
      release(s);
      AD_CUDA_CHECK(cudaHostAlloc(&s.pinned, n, cudaHostAllocDefault));
      s.bytes = n;
      cudaEvent_t e;
      AD_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
      s.event = e;
    }
    std::memcpy(s.pinned, host.raw(), n);
    AD_CUDA_CHECK(cudaMemcpyAsync(dst.raw(), s.pinned, n, cudaMemcpyHostToDevice, cuda_stream()));
    AD_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(s.event), cuda_stream()));
    s.pending = true;
    detail::count_host_to_device();
    return;
  }
#endif
  // The emulated device: its memory is host memory and its work is done when the call returns.
  std::memcpy(dst.raw(), host.raw(), n);
  detail::count_host_to_device();
}

}  // namespace ad
