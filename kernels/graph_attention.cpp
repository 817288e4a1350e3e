#include "kernels/graph_attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/graph_attention.cuh"

namespace ad {

// ---- AttentionGraph ----------------------------------------------------------
AttentionGraph AttentionGraph::build(const CsrMatrix& adj) {
  const char* op = "AttentionGraph::build";
  AD_CHECK(adj.device() == Device::CPU, op, "builds on the CPU, got ", adj.describe());
  AD_CHECK(adj.rows == adj.cols, op, "adjacency must be square, got ", adj.describe());
  adj.validate(op);
  AD_CHECK(!adj.has_values() || adj.val.dtype() == DType::F32 || adj.val.dtype() == DType::F64, op,
           "values must be f32 or f64, got ", adj.describe());
  AttentionGraph g;
  g.adj = adj;
  std::vector<int64_t> edge_of;
  g.adj_t = csr_transpose(adj, &edge_of);
  g.edge_of = Tensor::empty({int64_t(edge_of.size())}, DType::I64);
  std::copy(edge_of.begin(), edge_of.end(), g.edge_of.data<int64_t>());
  return g;
}

AttentionGraph AttentionGraph::to(Device device) const {
  AttentionGraph g;
  g.adj = adj.to(device);
  g.adj_t = adj_t.to(device);
  g.edge_of = edge_of.to(device);
  return g;
}

// ---- CPU reference -------------------------------------------------------------
namespace cpu {
namespace {

// Logit in the feature precision T (as the kernel computes it in f32), so the LeakyReLU branch agrees.
template <class T, class V>
T logit(const V* val, bool scale, T fs_i, T fd_j, int64_t e) {
  T s = scale ? T(val[e]) : T(1);
  return s * (fs_i + fd_j);
}
template <class T> double leaky(T e, double slope) { return e > T(0) ? double(e) : slope * double(e); }
template <class T> double leaky_grad(T e, double slope) { return e > T(0) ? 1.0 : slope; }

template <class T, class V>
void gat_forward(const int64_t* rp, const int32_t* col, const V* val, int64_t n, int64_t C, const T* feat,
                 const T* fs, const T* fd, double slope, bool scale, T* attn, T* out) {
#pragma omp parallel if (n * C > 16384)
  {
    std::vector<double> w, acc(static_cast<size_t>(C));
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = rp[i], d = rp[i + 1] - b;
      w.resize(size_t(d));
      double m = -INFINITY;
      for (int64_t k = 0; k < d; ++k) {
        w[k] = leaky(logit(val, scale, fs[i], fd[col[b + k]], b + k), slope);
        m = std::max(m, w[k]);
      }
      double sum = 0;
      for (int64_t k = 0; k < d; ++k) sum += (w[k] = std::exp(w[k] - m));
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = 0; k < d; ++k) {
        double a = w[k] / sum;
        attn[b + k] = T(a);
        const T* fj = feat + int64_t(col[b + k]) * C;
        for (int64_t c = 0; c < C; ++c) acc[c] += a * double(fj[c]);
      }
      for (int64_t c = 0; c < C; ++c) out[i * C + c] = T(acc[c]);
    }
  }
}

template <class T, class V>
void gat_backward(const int64_t* rp, const int32_t* col, const V* val, const int64_t* trp, const int32_t* tcol,
                  const int64_t* edge_of, int64_t n, int64_t C, const T* feat, const T* fs, const T* fd,
                  const T* attn, const T* dout, double slope, bool scale, T* edge_grad, T* dfeat, T* dfs, T* dfd) {
#pragma omp parallel if (n * C > 16384)
  {
    std::vector<double> da, acc(static_cast<size_t>(C));
    // Rows: d_attn, the row sum, edge_grad = de * s, df_src.
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = rp[i], d = rp[i + 1] - b;
      da.resize(size_t(d));
      double rs = 0;
      for (int64_t k = 0; k < d; ++k) {
        const T* fj = feat + int64_t(col[b + k]) * C;
        double dot = 0;
        for (int64_t c = 0; c < C; ++c) dot += double(dout[i * C + c]) * double(fj[c]);
        da[k] = dot;
        rs += double(attn[b + k]) * dot;
      }
      double gsum = 0;
      for (int64_t k = 0; k < d; ++k) {
        const int64_t e = b + k;
        double s = scale ? double(val[e]) : 1.0;
        double g = double(attn[e]) * (da[k] - rs) * leaky_grad(logit(val, scale, fs[i], fd[col[e]], e), slope) * s;
        edge_grad[e] = T(g);
        gsum += g;
      }
      dfs[i] = T(gsum);
    }
    // Columns through the transpose: dfeat, df_dst (the implicit barrier of `omp for` orders the passes).
#pragma omp for schedule(dynamic, 64)
    for (int64_t j = 0; j < n; ++j) {
      double gs = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = trp[j]; k < trp[j + 1]; ++k) {
        const int64_t e = edge_of[k];
        gs += double(edge_grad[e]);
        const T* di = dout + int64_t(tcol[k]) * C;
        const double a = double(attn[e]);
        for (int64_t c = 0; c < C; ++c) acc[c] += a * double(di[c]);
      }
      dfd[j] = T(gs);
      for (int64_t c = 0; c < C; ++c) dfeat[j * C + c] = T(acc[c]);
    }
  }
}

}  // namespace
}  // namespace cpu

// ---- front-end -------------------------------------------------------------------
namespace {

void check_graph(const char* op, const AttentionGraph& g, const GraphAttentionOptions& opt, const Tensor& feat) {
  const int64_t n = g.nodes(), nnz = g.edges();
  AD_CHECK(g.adj.row_ptr.defined() && g.adj.rows == g.adj.cols, op, "adjacency must be square, got ",
           g.adj.describe());
  AD_CHECK(g.adj_t.rows == n && g.adj_t.nnz() == nnz && g.edge_of.defined() && g.edge_of.dtype() == DType::I64 &&
               g.edge_of.numel() == nnz,
           op, "graph not built with AttentionGraph::build: adj ", g.adj.describe(), ", adj_t ", g.adj_t.describe(),
           ", edge_of ", g.edge_of.defined() ? g.edge_of.describe() : std::string("undefined"));
  AD_CHECK(g.adj.device() == feat.device() && g.adj_t.device() == feat.device() &&
               g.edge_of.device() == feat.device(),
           op, "graph ", g.adj.describe(), " and feat ", feat.describe(), " are on different devices");
  if (opt.scale_logits_by_adj) {
    AD_CHECK(g.adj.has_values(), op, "scale_logits_by_adj needs adjacency values, got ", g.adj.describe());
    AD_CHECK(g.adj.val.dtype() == DType::F32 || (g.adj.val.dtype() == DType::F64 && !feat.is_cuda()), op,
             "adjacency values must be f32 (f64 allowed on the CPU), got ", g.adj.describe());
  }
}

void check_tensor(const char* op, const char* name, const Tensor& t, const Tensor& feat, const Shape& shape) {
  AD_CHECK(t.defined(), op, name, " is undefined");
  AD_CHECK(t.shape() == shape, op, name, " must be ", shape.str(), ", got ", t.describe(), " (feat ",
           feat.describe(), ")");
  AD_CHECK(t.dtype() == feat.dtype(), op, name, " dtype differs from feat: ", t.describe(), " vs ", feat.describe());
  check_same_device(op, t, feat);
}

void check_feat(const char* op, const AttentionGraph& g, const Tensor& feat) {
  AD_CHECK(feat.defined() && feat.dim() == 2 && feat.size(0) == g.nodes(), op, "feat must be [", g.nodes(),
           ", C] for ", g.adj.describe(), ", got ", feat.defined() ? feat.describe() : std::string("undefined"));
  check_floating(op, feat);
  if (feat.is_cuda()) check_dtype(op, feat, DType::F32);
}

[[maybe_unused]] GatParams gat_params(const Tensor& feat, const GraphAttentionOptions& opt) {
  GatParams p;
  p.channels = feat.size(1);
  p.slope = float(opt.negative_slope);
  p.scale = opt.scale_logits_by_adj;
  return p;
}

// Calls f(V{}) with the adjacency's value type (float when the values are not read).
template <class F> void dispatch_values(const AttentionGraph& g, bool scale, F&& f) {
  if (scale && g.adj.val.dtype() == DType::F64) f(double{});
  else f(float{});
}
template <class V> const V* values_or_null(const AttentionGraph& g, bool scale) {
  return scale ? g.adj.val.data<V>() : nullptr;
}

}  // namespace

void graph_attention_forward(const AttentionGraph& g, const Tensor& feat, const Tensor& f_src, const Tensor& f_dst,
                             const GraphAttentionOptions& opt, Tensor& attn, Tensor& out) {
  const char* op = "graph_attention_forward";
  check_feat(op, g, feat);
  check_graph(op, g, opt, feat);
  const int64_t n = g.nodes(), C = feat.size(1);
  check_tensor(op, "f_src", f_src, feat, Shape{n});
  check_tensor(op, "f_dst", f_dst, feat, Shape{n});
  check_tensor(op, "attn", attn, feat, Shape{g.edges()});
  check_tensor(op, "out", out, feat, Shape{n, C});
  if (feat.is_cuda()) {
    AD_WITH_CUDA_ONLY(op, cuda::graph_attention_forward(gat_view(g, opt.scale_logits_by_adj), gat_params(feat, opt),
                                                        feat.data<float>(), f_src.data<float>(), f_dst.data<float>(),
                                                        attn.data<float>(), out.data<float>()));
    return;
  }
  dispatch_floating(op, feat.dtype(), [&](auto t) {
    using T = decltype(t);
    dispatch_values(g, opt.scale_logits_by_adj, [&](auto v) {
      using V = decltype(v);
      cpu::gat_forward<T, V>(g.adj.row_ptr.data<int64_t>(), g.adj.col.data<int32_t>(),
                             values_or_null<V>(g, opt.scale_logits_by_adj), n, C, feat.data<T>(), f_src.data<T>(),
                             f_dst.data<T>(), opt.negative_slope, opt.scale_logits_by_adj, attn.data<T>(),
                             out.data<T>());
    });
  });
}

void graph_attention_backward(const AttentionGraph& g, const Tensor& feat, const Tensor& f_src, const Tensor& f_dst,
                              const Tensor& attn, const Tensor& dout, const GraphAttentionOptions& opt,
                              Tensor& edge_grad, Tensor& dfeat, Tensor& df_src, Tensor& df_dst) {
  const char* op = "graph_attention_backward";
  check_feat(op, g, feat);
  check_graph(op, g, opt, feat);
  const int64_t n = g.nodes(), C = feat.size(1), nnz = g.edges();
  check_tensor(op, "f_src", f_src, feat, Shape{n});
  check_tensor(op, "f_dst", f_dst, feat, Shape{n});
  check_tensor(op, "attn", attn, feat, Shape{nnz});
  check_tensor(op, "dout", dout, feat, Shape{n, C});
  check_tensor(op, "edge_grad", edge_grad, feat, Shape{nnz});
  check_tensor(op, "dfeat", dfeat, feat, Shape{n, C});
  check_tensor(op, "df_src", df_src, feat, Shape{n});
  check_tensor(op, "df_dst", df_dst, feat, Shape{n});
  if (feat.is_cuda()) {
    AD_WITH_CUDA_ONLY(op, cuda::graph_attention_backward(
                              gat_view(g, opt.scale_logits_by_adj), gat_params(feat, opt), feat.data<float>(),
                              f_src.data<float>(), f_dst.data<float>(), attn.data<float>(), dout.data<float>(),
                              edge_grad.data<float>(), dfeat.data<float>(), df_src.data<float>(),
                              df_dst.data<float>()));
    return;
  }
  dispatch_floating(op, feat.dtype(), [&](auto t) {
    using T = decltype(t);
    dispatch_values(g, opt.scale_logits_by_adj, [&](auto v) {
      using V = decltype(v);
      cpu::gat_backward<T, V>(g.adj.row_ptr.data<int64_t>(), g.adj.col.data<int32_t>(),
                              values_or_null<V>(g, opt.scale_logits_by_adj), g.adj_t.row_ptr.data<int64_t>(),
                              g.adj_t.col.data<int32_t>(), g.edge_of.data<int64_t>(), n, C, feat.data<T>(),
                              f_src.data<T>(), f_dst.data<T>(), attn.data<T>(), dout.data<T>(), opt.negative_slope,
                              opt.scale_logits_by_adj, edge_grad.data<T>(), dfeat.data<T>(), df_src.data<T>(),
                              df_dst.data<T>());
    });
  });
}

}  // namespace ad
