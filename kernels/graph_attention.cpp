#include "kernels/graph_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/elementwise.h"
#include "kernels/gatv2.cuh"
#include "kernels/graph_attention.cuh"

namespace ad {

// ---- AttentionGraph ----------------------------------------------------------
GatSplitPlan GatSplitPlan::build(const CsrMatrix& m, const GatSplitOptions& opt) {
  const char* op = "GatSplitPlan::build";
  AD_CHECK(m.device() == Device::CPU, op, "builds on the CPU, got ", m.describe());
  AD_CHECK(opt.light_degree >= 0 && opt.segment_edges >= 1, op, "light_degree >= 0 and segment_edges >= 1, got ",
           opt.light_degree, " and ", opt.segment_edges);
  const int64_t* rp = m.row_ptr.data<int64_t>();
  std::vector<int32_t> light, heavy, seg_heavy;
  std::vector<int64_t> seg_ptr{0};
  for (int64_t i = 0; i < m.rows; ++i) {
    const int64_t deg = rp[i + 1] - rp[i];
    if (deg <= opt.light_degree) {
      light.push_back(int32_t(i));
      continue;
    }
    const int64_t segs = (deg + opt.segment_edges - 1) / opt.segment_edges;
    for (int64_t s = 0; s < segs; ++s) seg_heavy.push_back(int32_t(heavy.size()));
    heavy.push_back(int32_t(i));
    seg_ptr.push_back(seg_ptr.back() + segs);
  }
  auto tensor_of = [](const auto& v, DType dt) {
    Tensor t = Tensor::empty({int64_t(v.size())}, dt);
    if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * sizeof(v[0]));
    return t;
  };
  GatSplitPlan p;
  p.light_degree = opt.light_degree;
  p.segment_edges = opt.segment_edges;
  p.light_rows = tensor_of(light, DType::I32);
  p.heavy_rows = tensor_of(heavy, DType::I32);
  p.heavy_seg_ptr = tensor_of(seg_ptr, DType::I64);
  p.seg_heavy = tensor_of(seg_heavy, DType::I32);
  return p;
}

GatSplitPlan GatSplitPlan::to(Device device) const {
  GatSplitPlan p = *this;
  p.light_rows = light_rows.to(device);
  p.heavy_rows = heavy_rows.to(device);
  p.heavy_seg_ptr = heavy_seg_ptr.to(device);
  p.seg_heavy = seg_heavy.to(device);
  return p;
}

AttentionGraph AttentionGraph::build(const CsrMatrix& adj, const GatSplitOptions& split) {
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
  g.row_split = GatSplitPlan::build(g.adj, split);
  g.col_split = GatSplitPlan::build(g.adj_t, split);
  return g;
}

AttentionGraph AttentionGraph::to(Device device) const {
  AttentionGraph g;
  g.adj = adj.to(device);
  g.adj_t = adj_t.to(device);
  g.edge_of = edge_of.to(device);
  g.row_split = row_split.to(device);
  g.col_split = col_split.to(device);
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


// GATv2 with max over heads (math in graph_attention.h). HD = H * D; u = src_j + dst_i per channel.
template <class T>
void gatv2_forward(const int64_t* rp, const int32_t* col, int64_t n, int64_t H, int64_t D, const T* src,
                   const T* dst, const T* att, double slope, T* attn, T* out, int32_t* arg) {
  const int64_t HD = H * D;
#pragma omp parallel if (n * HD > 16384)
  {
    std::vector<double> w, o(static_cast<size_t>(HD));
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = rp[i], deg = rp[i + 1] - b;
      w.resize(size_t(deg * H));
      for (int64_t h = 0; h < H; ++h) {
        double m = -INFINITY;
        for (int64_t k = 0; k < deg; ++k) {
          const T* sj = src + int64_t(col[b + k]) * HD + h * D;
          const T* di = dst + i * HD + h * D;
          double e = 0;
          for (int64_t d = 0; d < D; ++d) e += double(att[h * D + d]) * leaky(T(sj[d] + di[d]), slope);
          w[k * H + h] = e;
          m = std::max(m, e);
        }
        double sum = 0;
        for (int64_t k = 0; k < deg; ++k) sum += (w[k * H + h] = std::exp(w[k * H + h] - m));
        for (int64_t k = 0; k < deg; ++k) attn[(b + k) * H + h] = T(w[k * H + h] / sum);
      }
      std::fill(o.begin(), o.end(), 0.0);
      for (int64_t k = 0; k < deg; ++k) {
        const T* sj = src + int64_t(col[b + k]) * HD;
        for (int64_t c = 0; c < HD; ++c) o[c] += double(attn[(b + k) * H + c / D]) * double(sj[c]);
      }
      for (int64_t d = 0; d < D; ++d) {
        int32_t best = 0;  // the first head wins ties, as a max pool does
        for (int64_t h = 1; h < H; ++h)
          if (T(o[h * D + d]) > T(o[best * D + d])) best = int32_t(h);
        out[i * D + d] = T(o[best * D + d]);
        arg[i * D + d] = best;
      }
    }
  }
}

template <class T>
void gatv2_backward(const int64_t* rp, const int32_t* col, const int64_t* trp, const int32_t* tcol,
                    const int64_t* edge_of, int64_t n, int64_t H, int64_t D, const T* src, const T* dst, const T* att,
                    const T* attn, const int32_t* arg, const T* dout, double slope, T* edge_grad, T* datt_rows,
                    T* dsrc, T* ddst) {
  const int64_t HD = H * D;
#pragma omp parallel if (n * HD > 16384)
  {
    std::vector<double> da, rs(static_cast<size_t>(H)), acc(static_cast<size_t>(HD)),
        acc2(static_cast<size_t>(HD));
    // Rows: de per edge and head, ddst, datt_rows.
#pragma omp for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t b = rp[i], deg = rp[i + 1] - b;
      da.assign(size_t(deg * H), 0.0);
      std::fill(rs.begin(), rs.end(), 0.0);
      for (int64_t k = 0; k < deg; ++k) {
        const T* sj = src + int64_t(col[b + k]) * HD;
        for (int64_t d = 0; d < D; ++d) {
          const int64_t h = arg[i * D + d];
          da[k * H + h] += double(dout[i * D + d]) * double(sj[h * D + d]);
        }
        for (int64_t h = 0; h < H; ++h) rs[h] += double(attn[(b + k) * H + h]) * da[k * H + h];
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      std::fill(acc2.begin(), acc2.end(), 0.0);
      for (int64_t k = 0; k < deg; ++k) {
        const T* sj = src + int64_t(col[b + k]) * HD;
        for (int64_t h = 0; h < H; ++h) {
          const double de = double(attn[(b + k) * H + h]) * (da[k * H + h] - rs[h]);
          edge_grad[(b + k) * H + h] = T(de);
          for (int64_t d = 0; d < D; ++d) {
            const int64_t c = h * D + d;
            const T u = T(sj[c] + dst[i * HD + c]);
            acc[c] += de * double(att[c]) * leaky_grad(u, slope);
            acc2[c] += de * leaky(u, slope);
          }
        }
      }
      for (int64_t c = 0; c < HD; ++c) {
        ddst[i * HD + c] = T(acc[c]);
        datt_rows[i * HD + c] = T(acc2[c]);
      }
    }
    // Columns through the transpose: dsrc (the implicit barrier of `omp for` orders the passes).
#pragma omp for schedule(dynamic, 64)
    for (int64_t j = 0; j < n; ++j) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = trp[j]; k < trp[j + 1]; ++k) {
        const int64_t e = edge_of[k], i = tcol[k];
        for (int64_t c = 0; c < HD; ++c) {
          const int64_t h = c / D, d = c % D;
          const T u = T(src[j * HD + c] + dst[i * HD + c]);
          double g = double(edge_grad[e * H + h]) * double(att[c]) * leaky_grad(u, slope);
          if (arg[i * D + d] == h) g += double(attn[e * H + h]) * double(dout[i * D + d]);
          acc[c] += g;
        }
      }
      for (int64_t c = 0; c < HD; ++c) dsrc[j * HD + c] = T(acc[c]);
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
  auto split_ok = [n](const GatSplitPlan& p) {
    return p.light_rows.defined() && p.heavy_rows.defined() && p.lights() + p.heavies() == n;
  };
  AD_CHECK(split_ok(g.row_split) && split_ok(g.col_split), op,
           "graph not built with AttentionGraph::build: its row splits do not cover its ", n, " nodes");
  AD_CHECK(g.adj.device() == feat.device() && g.adj_t.device() == feat.device() &&
               g.edge_of.device() == feat.device() && g.row_split.light_rows.device() == feat.device(),
           op, "graph ", g.adj.describe(), " and feat ", feat.describe(), " are on different devices");
  if (opt.scale_logits_by_adj) {
    AD_CHECK(g.adj.has_values(), op, "scale_logits_by_adj needs adjacency values, got ", g.adj.describe());
    AD_CHECK(g.adj.val.dtype() == DType::F32 || (g.adj.val.dtype() == DType::F64 && !feat.is_device()), op,
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
  if (feat.is_device()) check_dtype(op, feat, DType::F32);
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
  if (feat.is_device()) {
    AD_ON_DEVICE(op, feat, graph_attention_forward(gat_view(g, opt.scale_logits_by_adj), gat_params(feat, opt),
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
  if (feat.is_device()) {
    AD_ON_DEVICE(op, feat, graph_attention_backward(
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

// ---- GATv2 front-end --------------------------------------------------------------
namespace {

struct Gatv2Dims {
  int64_t n, H, D, nnz;
};

Gatv2Dims check_gatv2(const char* op, const AttentionGraph& g, const Tensor& src, const Tensor& dst,
                      const Tensor& att, const Gatv2Options& opt) {
  AD_CHECK(opt.heads >= 1, op, "heads must be >= 1, got ", opt.heads);
  AD_CHECK(src.defined() && src.dim() == 2 && src.size(0) == g.nodes() && src.size(1) % opt.heads == 0, op,
           "src must be [", g.nodes(), ", heads*D] with heads = ", opt.heads, ", got ",
           src.defined() ? src.describe() : std::string("undefined"));
  check_floating(op, src);
  if (src.is_device()) check_dtype(op, src, DType::F32);
  GraphAttentionOptions plain;
  plain.scale_logits_by_adj = false;
  check_graph(op, g, plain, src);
  check_tensor(op, "dst", dst, src, src.shape());
  check_tensor(op, "att", att, src, Shape{src.size(1)});
  return {g.nodes(), opt.heads, src.size(1) / opt.heads, g.edges()};
}

void check_arg(const char* op, const Tensor& arg, const Tensor& src, const Shape& shape) {
  AD_CHECK(arg.defined() && arg.shape() == shape && arg.dtype() == DType::I32, op, "arg must be I32 ", shape.str(),
           ", got ", arg.defined() ? arg.describe() : std::string("undefined"));
  check_same_device(op, arg, src);
}

[[maybe_unused]] Gatv2Params gatv2_params(const Gatv2Dims& d, const Gatv2Options& opt) {
  Gatv2Params p;
  p.heads = d.H;
  p.head_dim = d.D;
  p.slope = float(opt.negative_slope);
  return p;
}

}  // namespace

void gatv2_forward(const AttentionGraph& g, const Tensor& src, const Tensor& dst, const Tensor& att,
                   const Gatv2Options& opt, Tensor& attn, Tensor& out, Tensor& arg) {
  const char* op = "gatv2_forward";
  const Gatv2Dims d = check_gatv2(op, g, src, dst, att, opt);
  check_tensor(op, "attn", attn, src, Shape{d.nnz, d.H});
  check_tensor(op, "out", out, src, Shape{d.n, d.D});
  check_arg(op, arg, src, Shape{d.n, d.D});
  if (src.is_device()) {
    AD_ON_DEVICE(op, src, gatv2_forward(gat_view(g, false), gatv2_params(d, opt), src.data<float>(),
                                        dst.data<float>(), att.data<float>(), attn.data<float>(),
                                        out.data<float>(), arg.data<int32_t>()));
    return;
  }
  dispatch_floating(op, src.dtype(), [&](auto t) {
    using T = decltype(t);
    cpu::gatv2_forward<T>(g.adj.row_ptr.data<int64_t>(), g.adj.col.data<int32_t>(), d.n, d.H, d.D, src.data<T>(),
                          dst.data<T>(), att.data<T>(), opt.negative_slope, attn.data<T>(), out.data<T>(),
                          arg.data<int32_t>());
  });
}

void gatv2_backward(const AttentionGraph& g, const Tensor& src, const Tensor& dst, const Tensor& att,
                    const Tensor& attn, const Tensor& arg, const Tensor& dout, const Gatv2Options& opt,
                    Tensor& edge_grad, Tensor& datt_rows, Tensor& dsrc, Tensor& ddst, Tensor& datt) {
  const char* op = "gatv2_backward";
  const Gatv2Dims d = check_gatv2(op, g, src, dst, att, opt);
  check_tensor(op, "attn", attn, src, Shape{d.nnz, d.H});
  check_arg(op, arg, src, Shape{d.n, d.D});
  check_tensor(op, "dout", dout, src, Shape{d.n, d.D});
  check_tensor(op, "edge_grad", edge_grad, src, Shape{d.nnz, d.H});
  check_tensor(op, "datt_rows", datt_rows, src, src.shape());
  check_tensor(op, "dsrc", dsrc, src, src.shape());
  check_tensor(op, "ddst", ddst, src, src.shape());
  check_tensor(op, "datt", datt, src, att.shape());
  if (src.is_device()) {
    AD_ON_DEVICE(op, src, gatv2_backward(gat_view(g, false), gatv2_params(d, opt), src.data<float>(),
                                         dst.data<float>(), att.data<float>(), attn.data<float>(),
                                         arg.data<int32_t>(), dout.data<float>(), edge_grad.data<float>(),
                                         datt_rows.data<float>(), dsrc.data<float>(), ddst.data<float>()));
  } else {
    dispatch_floating(op, src.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::gatv2_backward<T>(g.adj.row_ptr.data<int64_t>(), g.adj.col.data<int32_t>(),
                             g.adj_t.row_ptr.data<int64_t>(), g.adj_t.col.data<int32_t>(), g.edge_of.data<int64_t>(),
                             d.n, d.H, d.D, src.data<T>(), dst.data<T>(), att.data<T>(), attn.data<T>(),
                             arg.data<int32_t>(), dout.data<T>(), opt.negative_slope, edge_grad.data<T>(),
                             datt_rows.data<T>(), dsrc.data<T>(), ddst.data<T>());
    });
  }
  add_bias_rows_backward(datt_rows, datt);  // datt = column sums of datt_rows (either device)
}

}  // namespace ad
