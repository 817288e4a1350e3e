// Embedding lookup out[n, :] = weight[ids[n], :] and its backward dweight[v, :] += sum_{n: ids[n] = v} dout[n, :].
//
// The backward is a segment sum, not a scatter with float atomics: the ids are grouped by value first
// (a counting sort on the host, where the ids come from), then one thread per (distinct id, column) adds
// that id's rows in increasing position order. The order of additions is therefore fixed by the data alone,
// and two runs give the same bits (atomicAdd's order depends on scheduling).
//
// ids are always host int32 tensors (they come from the data pipeline on the host; the range check happens
// here, once, before any kernel reads them); weight, out and dout live on one device.
// CPU reference (f32 and f64) in embedding.cpp; CUDA kernels in embedding.cuh/.cu.
#pragma once
#include <cstdint>
#include <vector>

#include "runtime/tensor.h"
#include "kernels/dispatch.h"

namespace ad {

// ids grouped by value: ids equal to rows[g] sit at positions[offsets[g] .. offsets[g + 1]), ascending.
struct EmbeddingGroups {
  std::vector<int32_t> rows, offsets, positions;
};
// Throws naming the first id outside [0, vocab).
EmbeddingGroups group_embedding_ids(const int32_t* ids, int64_t n, int64_t vocab);

// ids: host I32 of any shape (N elements); weight [V, D]; out [N..., D] (ids' shape + D).
void embedding_forward(const Tensor& ids, const Tensor& weight, Tensor& out);
// Adds into dweight [V, D]; dout has out's shape.
void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dweight);

namespace cpu {
template <class T> void embedding_forward(const int32_t* ids, const T* weight, T* out, int64_t n, int64_t dim);
template <class T> void embedding_backward(const int32_t* ids, const T* dout, T* dweight, int64_t n, int64_t dim);
}  // namespace cpu

AD_DEVICE_BACKENDS(
void embedding_forward(const int32_t* ids, const float* weight, float* out, int64_t n, int64_t dim);
// rows, offsets, positions: device copies of an EmbeddingGroups with `groups` groups.
void embedding_backward(const int32_t* rows, const int32_t* offsets, const int32_t* positions, int64_t groups,
                        const float* dout, float* dweight, int64_t dim);
)  // AD_DEVICE_BACKENDS

}  // namespace ad
