#define AD_CUDA_HOST_CODE 1
#include "runtime/step_graph.h"

#include "runtime/cuda_context.h"
#include "runtime/device_counters.h"
#include "runtime/memory.h"

namespace ad {

namespace {
// The capture open on this thread, if any.
thread_local std::vector<std::function<void()>>* t_emulated_capture = nullptr;
thread_local void* t_cuda_capture_stream = nullptr;
}  // namespace

namespace detail {
void emulated_submit(std::function<void()> op) {
  if (t_emulated_capture) t_emulated_capture->push_back(std::move(op));
  else op();
}
bool emulated_capturing() { return t_emulated_capture != nullptr; }
void* cuda_capture_stream() { return t_cuda_capture_stream; }
}  // namespace detail

StepGraph::StepGraph(Device device) : device_(device) {
  AD_CHECK(device != Device::CPU, "StepGraph", "the CPU has no graphs to capture");
}

StepGraph::~StepGraph() {
#if AD_WITH_CUDA
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
#endif
  // A replay may still be queued on the GPU: its blocks return to the pool once the device is past it.
  if (pool_ >= 0) detail::release_private_pool(device_, pool_);
}

void StepGraph::capture(const std::function<void()>& step) {
  AD_CHECK(!captured_, "StepGraph::capture", "already captured");
  pool_ = detail::begin_private_pool(device_);
  if (device_ == Device::CUDA) {
#if AD_WITH_CUDA
    cudaStream_t s = nullptr;
    // Capture needs a stream of its own (the legacy default stream cannot be captured); nothing runs during the
    // capture, and replays are launched on the default stream, in order with the rest of the work.
    AD_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    AD_CUBLAS_CHECK(cublasSetStream(cublas_handle(), s));
    AD_CUSPARSE_CHECK(cusparseSetStream(cusparse_handle(), s));
    t_cuda_capture_stream = s;
    cudaGraph_t g = nullptr;
    AD_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    try {
      step();
    } catch (...) {
      cudaStreamEndCapture(s, &g);
      if (g) cudaGraphDestroy(g);
      t_cuda_capture_stream = nullptr;
      cublasSetStream(cublas_handle(), cuda_stream());
      cusparseSetStream(cusparse_handle(), cuda_stream());
      cudaStreamDestroy(s);
      detail::end_private_pool(device_);
      throw;
    }
    cudaError_t e = cudaStreamEndCapture(s, &g);
    t_cuda_capture_stream = nullptr;
    AD_CUBLAS_CHECK(cublasSetStream(cublas_handle(), cuda_stream()));
    AD_CUSPARSE_CHECK(cusparseSetStream(cusparse_handle(), cuda_stream()));
    cudaStreamDestroy(s);
    detail::end_private_pool(device_);
    AD_CUDA_CHECK(e);
    graph_ = g;
    cudaGraphExec_t x = nullptr;
    AD_CUDA_CHECK(cudaGraphInstantiate(&x, g, 0));
    exec_ = x;
#else
    AD_FAIL("StepGraph::capture", "CUDA device in a build without the CUDA backend");
#endif
  } else {
    std::vector<std::function<void()>> ops;
    t_emulated_capture = &ops;
    try {
      step();
    } catch (...) {
      t_emulated_capture = nullptr;
      detail::end_private_pool(device_);
      throw;
    }
    t_emulated_capture = nullptr;
    detail::end_private_pool(device_);
    ops_ = std::move(ops);
  }
  captured_ = true;
}

void StepGraph::replay() {
  AD_CHECK(captured_, "StepGraph::replay", "nothing captured");
  if (device_ == Device::CUDA) {
#if AD_WITH_CUDA
    AD_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), cuda_stream()));
#endif
  } else {
    for (const auto& op : ops_) op();
  }
  detail::count_launch();  // one graph launch, whatever it holds
}

}  // namespace ad
