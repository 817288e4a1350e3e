// The process-wide CUDA state: availability, the stream all ops run on, and library handles.
// All ops use one stream, so the caching allocator may reuse a freed block at once (stream order).
// Host-only declarations; the definitions live in cuda_context.cu (CUDA builds) or throw (CPU builds).
#pragma once
#include <cstddef>
#include <string>

namespace ad {

// True when the binary was built with CUDA and a device is present and usable.
bool cuda_available();
// Why cuda_available() is false ("built without CUDA", "no CUDA device: ..."), or the device name.
std::string cuda_status();
void cuda_synchronize();

namespace detail {
void cuda_memcpy(void* dst, const void* src, size_t bytes, int kind);  // kind: 0 H2D, 1 D2H, 2 D2D
void cuda_memset_zero(void* dst, size_t bytes);
}  // namespace detail

}  // namespace ad

#if AD_WITH_CUDA && (defined(__CUDACC__) || defined(AD_CUDA_HOST_CODE))
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cusparse.h>

namespace ad {
cudaStream_t cuda_stream();
cublasHandle_t cublas_handle();
cusparseHandle_t cusparse_handle();
cudnnHandle_t cudnn_handle();
}  // namespace ad

#include "runtime/error.h"
// Every CUDA-library call is checked; the message carries the call, file and line.
#define AD_CUDA_CHECK(call)                                                                   \
  do {                                                                                        \
    cudaError_t e_ = (call);                                                                  \
    if (e_ != cudaSuccess)                                                                    \
      AD_FAIL("CUDA", cudaGetErrorString(e_), " in ", #call, " at ", __FILE__, ":", __LINE__); \
  } while (0)
#define AD_CUBLAS_CHECK(call)                                                                 \
  do {                                                                                        \
    cublasStatus_t s_ = (call);                                                               \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                          \
      AD_FAIL("cuBLAS", cublasGetStatusString(s_), " in ", #call, " at ", __FILE__, ":", __LINE__); \
  } while (0)
#define AD_CUSPARSE_CHECK(call)                                                               \
  do {                                                                                        \
    cusparseStatus_t s_ = (call);                                                             \
    if (s_ != CUSPARSE_STATUS_SUCCESS)                                                        \
      AD_FAIL("cuSPARSE", cusparseGetErrorString(s_), " in ", #call, " at ", __FILE__, ":", __LINE__); \
  } while (0)
#define AD_CUDNN_CHECK(call)                                                                  \
  do {                                                                                        \
    cudnnStatus_t s_ = (call);                                                                \
    if (s_ != CUDNN_STATUS_SUCCESS)                                                           \
      AD_FAIL("cuDNN", cudnnGetErrorString(s_), " in ", #call, " at ", __FILE__, ":", __LINE__); \
  } while (0)
#endif
