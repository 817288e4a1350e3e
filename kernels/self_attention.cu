#include "kernels/device_backend.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"
#include "kernels/self_attention.cuh"

namespace ad::AD_BACKEND {

namespace {
// Opt-in dynamic shared memory on sm_80 (A100) is 163 KiB; stay within it so one build runs everywhere.
constexpr size_t kMaxSharedBytes = 160 * 1024;
}  // namespace

bool self_attention_fits(const SelfAttentionDims& n) {
  return self_attention_shared_bytes(n, true) <= kMaxSharedBytes;
}

void self_attention_forward(const SelfAttentionDims& n, const float* H, const float* W1, const float* b1,
                            const float* W2, const float* b2, float* U, float* attn, float* M) {
  DeviceLauncher l;
  launch_self_attention_forward(l, n, H, W1, b1, W2, b2, U, attn, M);
}

void self_attention_backward(const SelfAttentionDims& n, const float* H, const float* W1, const float* W2,
                             const float* U, const float* attn, const float* dM, float* dH, float* dW1, float* db1,
                             float* dW2, float* db2, float* dZ, float* dS) {
  DeviceLauncher l;
  launch_self_attention_backward(l, n, H, W1, W2, U, attn, dM, dH, dZ, dS);
  const int64_t rows = n.batch * n.time, D = n.hidden, A = n.attention, K = n.heads;
  gemm(true, false, A, D, rows, 1.f, dZ, A, H, D, 1.f, dW1, D);  // dW1 += dZ^T H
  column_sums(dZ, db1, rows, A, 1.f, true);
  gemm(true, false, K, A, rows, 1.f, dS, K, U, A, 1.f, dW2, A);  // dW2 += dS^T U
  column_sums(dS, db2, rows, K, 1.f, true);
}

}  // namespace ad::AD_BACKEND
