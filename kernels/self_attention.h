// Structured multi-head self-attention (Lin et al. 2017, as GLEAD and CVDD use it) over windows of tokens:
//
//   H    [B, T, D]   token vectors of B windows of T tokens
//   U    [B, T, A]   U = tanh(H W1^T + b1)            W1 [A, D], b1 [A]
//   S    [B, T, K]   S = U W2^T + b2                  W2 [K, A], b2 [K]   (K heads)
//   attn [B, K, T]   attn[b, k, :] = softmax over time of S[b, :, k]
//   M    [B, K, D]   M[b] = attn[b] H[b]
//
// There is no query/key pair: each head is a learned scoring of single tokens, so the whole block is a
// small per-window computation (T x D in, K x D out) that one thread block can hold in shared memory.
// The CUDA path is therefore one fused kernel per window (tanh projection, head logits, softmax over time
// and A H without leaving shared memory). Its backward is one fused kernel per window for the input
// gradient and the per-token intermediates (dZ = dL/d(H W1^T + b1), dS = dL/dS), followed by GEMMs and
// column sums that reduce the parameter gradients over B x T rows in a fixed order (no float atomics).
// The CPU reference computes the same with BLAS products over all B x T rows at once (f32 and f64).
//
// Forward keeps U (needed by backward); backward takes dM only (GLEAD's loss reads M; the attention
// weights are an output for explanations, not a differentiated one).
#pragma once
#include <cstdint>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

struct SelfAttentionDims {
  int64_t batch = 0, time = 0, hidden = 0, attention = 0, heads = 0;  // B, T, D, A, K
};

// Writes U [B, T, A], attn [B, K, T] and M [B, K, D] (all preallocated, same dtype and device as H).
void self_attention_forward(const Tensor& H, const Tensor& W1, const Tensor& b1, const Tensor& W2, const Tensor& b2,
                            Tensor& U, Tensor& attn, Tensor& M);
// Writes dH [B, T, D]; adds the parameter gradients into dW1, db1, dW2, db2.
void self_attention_backward(const Tensor& H, const Tensor& W1, const Tensor& W2, const Tensor& U,
                             const Tensor& attn, const Tensor& dM, Tensor& dH, Tensor& dW1, Tensor& db1, Tensor& dW2,
                             Tensor& db2);

namespace cpu {
template <class T>
void self_attention_forward(const SelfAttentionDims& n, const T* H, const T* W1, const T* b1, const T* W2,
                            const T* b2, T* U, T* attn, T* M);
template <class T>
void self_attention_backward(const SelfAttentionDims& n, const T* H, const T* W1, const T* W2, const T* U,
                             const T* attn, const T* dM, T* dH, T* dW1, T* db1, T* dW2, T* db2);
}  // namespace cpu

AD_DEVICE_BACKENDS(
// True when one window (H, U and the head rows) fits the fused kernels' shared memory.
bool self_attention_fits(const SelfAttentionDims& n);
void self_attention_forward(const SelfAttentionDims& n, const float* H, const float* W1, const float* b1,
                            const float* W2, const float* b2, float* U, float* attn, float* M);
// dZ [B, T, A] and dS [B, T, K] are workspaces the caller provides.
void self_attention_backward(const SelfAttentionDims& n, const float* H, const float* W1, const float* W2,
                             const float* U, const float* attn, const float* dM, float* dH, float* dW1, float* db1,
                             float* dW2, float* db2, float* dZ, float* dS);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
