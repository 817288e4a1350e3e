#include "kernels/embedding.h"

#include <algorithm>

#include "kernels/dispatch.h"

namespace ad {

EmbeddingGroups group_embedding_ids(const int32_t* ids, int64_t n, int64_t vocab) {
  std::vector<int32_t> count(size_t(vocab) + 1, 0);
  for (int64_t i = 0; i < n; ++i) {
    AD_CHECK(ids[i] >= 0 && ids[i] < vocab, "embedding", "id ", ids[i], " at position ", i, " is outside [0, ",
             vocab, ")");
    ++count[size_t(ids[i]) + 1];
  }
  EmbeddingGroups g;
  std::vector<int32_t> start(size_t(vocab), 0);
  for (int64_t v = 0; v < vocab; ++v)
    if (count[size_t(v) + 1] > 0) {
      g.rows.push_back(int32_t(v));
      g.offsets.push_back(0);
    }
  // Offsets of the groups (in id order), then a stable counting sort of the positions.
  int32_t at = 0;
  for (size_t k = 0; k < g.rows.size(); ++k) {
    g.offsets[k] = at;
    start[size_t(g.rows[k])] = at;
    at += count[size_t(g.rows[k]) + 1];
  }
  g.offsets.push_back(at);
  g.positions.assign(size_t(n), 0);
  for (int64_t i = 0; i < n; ++i) g.positions[size_t(start[size_t(ids[i])]++)] = int32_t(i);
  return g;
}

namespace cpu {
template <class T> void embedding_forward(const int32_t* ids, const T* weight, T* out, int64_t n, int64_t dim) {
#pragma omp parallel for if (n * dim >= kCpuParallelMin)
  for (int64_t i = 0; i < n; ++i) std::copy(weight + int64_t(ids[i]) * dim, weight + int64_t(ids[i] + 1) * dim, out + i * dim);
}

// Per id, the rows in position order summed first and then added to dweight: the kernel's order exactly,
// so the CPU and GPU gradients have the same bits (and the id groups can run in parallel).
template <class T> void embedding_backward(const int32_t* ids, const T* dout, T* dweight, int64_t n, int64_t dim) {
  int32_t vocab = 0;
  for (int64_t i = 0; i < n; ++i) vocab = std::max(vocab, ids[i] + 1);
  const EmbeddingGroups g = group_embedding_ids(ids, n, vocab);
  const int64_t groups = int64_t(g.rows.size());
#pragma omp parallel for if (n * dim >= kCpuParallelMin)
  for (int64_t k = 0; k < groups; ++k) {
    T* row = dweight + int64_t(g.rows[size_t(k)]) * dim;
    for (int64_t d = 0; d < dim; ++d) {
      T s = 0;
      for (int32_t p = g.offsets[size_t(k)]; p < g.offsets[size_t(k) + 1]; ++p) s += dout[int64_t(g.positions[size_t(p)]) * dim + d];
      row[d] += s;
    }
  }
}

template void embedding_forward<float>(const int32_t*, const float*, float*, int64_t, int64_t);
template void embedding_forward<double>(const int32_t*, const double*, double*, int64_t, int64_t);
template void embedding_backward<float>(const int32_t*, const float*, float*, int64_t, int64_t);
template void embedding_backward<double>(const int32_t*, const double*, double*, int64_t, int64_t);
}  // namespace cpu

namespace {
void check_ids(const char* op, const Tensor& ids, const Tensor& weight, const Tensor& out) {
  AD_CHECK(ids.device() == Device::CPU && ids.dtype() == DType::I32, op, "ids must be a host i32 tensor, got ",
           ids.describe());
  check_floating(op, weight);
  AD_CHECK(weight.dim() == 2, op, "weight must be [vocab, dim], got ", weight.describe());
  std::vector<int64_t> want = ids.shape().to_vector();
  want.push_back(weight.size(1));
  AD_CHECK(want.size() <= size_t(Shape::kMaxDims) && out.shape() == Shape(want), op, "expected ",
           Shape(want).str(), " for ids ", ids.describe(), ", got ", out.describe());
  AD_CHECK(out.dtype() == weight.dtype() && out.device() == weight.device(), op, out.describe(),
           " must match the weight ", weight.describe());
}
}  // namespace

void embedding_forward(const Tensor& ids, const Tensor& weight, Tensor& out) {
  const char* op = "embedding_forward";
  check_ids(op, ids, weight, out);
  const int64_t n = ids.numel(), dim = weight.size(1), vocab = weight.size(0);
  const int32_t* id = ids.data<int32_t>();
  for (int64_t i = 0; i < n; ++i)
    AD_CHECK(id[i] >= 0 && id[i] < vocab, op, "id ", id[i], " at position ", i, " is outside [0, ", vocab, ")");
  if (n == 0) return;
  if (weight.is_device()) {
    check_dtype(op, weight, DType::F32);
    Tensor dev_ids = ids.to(weight.device());
    AD_ON_DEVICE(op, weight, embedding_forward(dev_ids.data<int32_t>(), weight.data<float>(), out.data<float>(),
                                               n, dim));
  } else {
    dispatch_floating(op, weight.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::embedding_forward<T>(id, weight.data<T>(), out.data<T>(), n, dim);
    });
  }
}

void embedding_backward(const Tensor& ids, const Tensor& dout, Tensor& dweight) {
  const char* op = "embedding_backward";
  check_ids(op, ids, dweight, dout);
  const int64_t n = ids.numel(), dim = dweight.size(1);
  if (n == 0) return;
  if (dweight.is_device()) {
    check_dtype(op, dweight, DType::F32);
    EmbeddingGroups g = group_embedding_ids(ids.data<int32_t>(), n, dweight.size(0));
    auto upload = [&](const std::vector<int32_t>& v) {
      Tensor t = Tensor::empty({int64_t(v.size())}, DType::I32);
      std::copy(v.begin(), v.end(), t.data<int32_t>());
      return t.to(dweight.device());
    };
    Tensor rows = upload(g.rows), offsets = upload(g.offsets), positions = upload(g.positions);
    AD_ON_DEVICE(op, dweight, embedding_backward(rows.data<int32_t>(), offsets.data<int32_t>(),
                                                 positions.data<int32_t>(), int64_t(g.rows.size()),
                                                 dout.data<float>(), dweight.data<float>(), dim));
  } else {
    const int32_t* id = ids.data<int32_t>();
    for (int64_t i = 0; i < n; ++i)
      AD_CHECK(id[i] >= 0 && id[i] < dweight.size(0), op, "id ", id[i], " at position ", i, " is outside [0, ",
               dweight.size(0), ")");
    dispatch_floating(op, dweight.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::embedding_backward<T>(id, dout.data<T>(), dweight.data<T>(), n, dim);
    });
  }
}

}  // namespace ad
