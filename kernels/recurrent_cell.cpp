#include "kernels/recurrent_cell.h"

#include <cmath>
#include <type_traits>
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/fast_math.h"

namespace ad {

RecurrentCell parse_recurrent_cell(const std::string& name) {
  if (name == "lstm") return RecurrentCell::LSTM;
  if (name == "gru") return RecurrentCell::GRU;
  AD_FAIL("parse_recurrent_cell", "unknown cell '", name, "' (known: lstm, gru)");
}

const char* recurrent_cell_name(RecurrentCell cell) { return cell == RecurrentCell::LSTM ? "lstm" : "gru"; }

namespace cpu {
namespace {
template <class T> T sigmoid(T x) { return T(1) / (T(1) + exp_of(-x)); }  // exp_of, tanh_of: fast_math.h
}  // namespace

// Written per row with the gates as named locals (PyTorch's documented equations), independently of the
// kernel's indexing; one loop per cell type over a row's units, so that the loop body vectorises.
template <class T>
void recurrent_cell_forward(RecurrentCell cell, const T* gx, const T* gh, const T* b_ih, const T* b_hh,
                            const T* h_prev, const T* c_prev, T* h, T* c, T* saved, int64_t B, int64_t Hd) {
  const int64_t G = recurrent_gates(cell);
#pragma omp parallel for if (B * Hd * G >= kCpuParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    // The pre-activations of the row first (all but the GRU candidate's recurrent part), in loops without
    // branches, then one gate loop per cell type: all vectorise.
    thread_local std::vector<T> pre;
    pre.resize(size_t(G * Hd));
    const T* r = gh + b * G * Hd;
    const int64_t with_h = cell == RecurrentCell::LSTM ? G * Hd : 2 * Hd;  // the GRU's n gate adds r * hn later
    for (int64_t k = 0; k < with_h; ++k) pre[size_t(k)] = r[k] + b_hh[k] + b_ih[k];
    for (int64_t k = with_h; k < G * Hd; ++k) pre[size_t(k)] = b_ih[k];
    if (gx) {
      const T* x = gx + b * G * Hd;
      for (int64_t k = 0; k < G * Hd; ++k) pre[size_t(k)] += x[k];
    }
    const T* p = pre.data();
    T* s = saved + b * 4 * Hd;
    const int64_t o = b * Hd;
    if (cell == RecurrentCell::LSTM) {
#pragma omp simd
      for (int64_t j = 0; j < Hd; ++j) {
        const T in_gate = sigmoid(p[j]), forget = sigmoid(p[Hd + j]);
        const T cand = tanh_of(p[2 * Hd + j]), out_gate = sigmoid(p[3 * Hd + j]);
        const T cell_state = forget * c_prev[o + j] + in_gate * cand;
        c[o + j] = cell_state;
        h[o + j] = out_gate * tanh_of(cell_state);
        s[j] = in_gate, s[Hd + j] = forget, s[2 * Hd + j] = cand, s[3 * Hd + j] = out_gate;
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < Hd; ++j) {
        const T reset = sigmoid(p[j]), update = sigmoid(p[Hd + j]);
        const T hn = r[2 * Hd + j] + b_hh[2 * Hd + j];
        const T cand = tanh_of(p[2 * Hd + j] + reset * hn);
        h[o + j] = (T(1) - update) * cand + update * h_prev[o + j];
        s[j] = reset, s[Hd + j] = update, s[2 * Hd + j] = cand, s[3 * Hd + j] = hn;
      }
    }
  }
}

template <class T>
void recurrent_cell_backward(RecurrentCell cell, const T* saved, const T* h_prev, const T* c_prev, const T* c,
                             const T* dout, T* dh_rec, T* dc, T* dgx, T* dgh, int64_t B, int64_t Hd) {
  const int64_t G = recurrent_gates(cell);
#pragma omp parallel for if (B * Hd * G >= kCpuParallelMin)
  for (int64_t b = 0; b < B; ++b) {
    const T* s = saved + b * 4 * Hd;
    const int64_t o = b * Hd;
    T* dx = dgx + b * G * Hd;
    if (cell == RecurrentCell::LSTM) {
#pragma omp simd
      for (int64_t j = 0; j < Hd; ++j) {
        const T dh = (dout ? dout[o + j] : T(0)) + dh_rec[o + j];
        const T in_gate = s[j], forget = s[Hd + j], cand = s[2 * Hd + j], out_gate = s[3 * Hd + j];
        const T tanh_c = tanh_of(c[o + j]);
        const T d_c = dc[o + j] + dh * out_gate * (T(1) - tanh_c * tanh_c);
        const T d_in = d_c * cand, d_forget = d_c * c_prev[o + j], d_cand = d_c * in_gate, d_out = dh * tanh_c;
        dx[j] = d_in * in_gate * (T(1) - in_gate);
        dx[Hd + j] = d_forget * forget * (T(1) - forget);
        dx[2 * Hd + j] = d_cand * (T(1) - cand * cand);
        dx[3 * Hd + j] = d_out * out_gate * (T(1) - out_gate);
        dc[o + j] = d_c * forget;
      }
    } else {
      T* dr = dgh + b * G * Hd;
#pragma omp simd
      for (int64_t j = 0; j < Hd; ++j) {
        const T dh = (dout ? dout[o + j] : T(0)) + dh_rec[o + j];
        const T reset = s[j], update = s[Hd + j], cand = s[2 * Hd + j], hn = s[3 * Hd + j];
        const T d_cand = dh * (T(1) - update), d_update = dh * (h_prev[o + j] - cand);
        const T d_cand_pre = d_cand * (T(1) - cand * cand);
        const T d_reset = d_cand_pre * hn;
        dx[j] = dr[j] = d_reset * reset * (T(1) - reset);
        dx[Hd + j] = dr[Hd + j] = d_update * update * (T(1) - update);
        dx[2 * Hd + j] = d_cand_pre;
        dr[2 * Hd + j] = d_cand_pre * reset;
        dh_rec[o + j] = dh * update;
      }
    }
  }
}

#define AD_INSTANTIATE_CELL(T)                                                                                    \
  template void recurrent_cell_forward<T>(RecurrentCell, const T*, const T*, const T*, const T*, const T*,        \
                                          const T*, T*, T*, T*, int64_t, int64_t);                                \
  template void recurrent_cell_backward<T>(RecurrentCell, const T*, const T*, const T*, const T*, const T*, T*,   \
                                           T*, T*, T*, int64_t, int64_t);
AD_INSTANTIATE_CELL(float)
AD_INSTANTIATE_CELL(double)
#undef AD_INSTANTIATE_CELL
}  // namespace cpu

namespace {
// Shape [rows, cols] and the reference tensor's dtype and device, or undefined when allowed.
void expect(const char* op, const char* what, const Tensor& t, int64_t rows, int64_t cols, const Tensor& like,
            bool may_be_undefined = false) {
  if (!t.defined()) {
    AD_CHECK(may_be_undefined, op, what, " is required");
    return;
  }
  AD_CHECK(t.numel() == rows * cols && t.size(0) == rows, op, what, " must be [", rows, ", ", cols, "], got ",
           t.describe());
  AD_CHECK(t.dtype() == like.dtype(), op, what, " dtype differs");
  check_same_device(op, t, like);
}
template <class T> T* ptr(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
}  // namespace

void recurrent_cell_forward(RecurrentCell cell, const Tensor& gx, const Tensor& gh, const Tensor& b_ih,
                            const Tensor& b_hh, const Tensor& h_prev, const Tensor& c_prev, Tensor& h, Tensor& c,
                            Tensor& saved) {
  const char* op = "recurrent_cell_forward";
  const int64_t G = recurrent_gates(cell);
  AD_CHECK(gh.dim() == 2 && gh.size(1) % G == 0, op, "gh must be [B, ", G, "*Hd], got ", gh.describe());
  const int64_t B = gh.size(0), Hd = gh.size(1) / G;
  const bool lstm = cell == RecurrentCell::LSTM;
  expect(op, "gx", gx, B, G * Hd, gh, true);
  expect(op, "b_ih", b_ih, G * Hd, 1, gh);
  expect(op, "b_hh", b_hh, G * Hd, 1, gh);
  expect(op, "h_prev", h_prev, B, Hd, gh, lstm);
  expect(op, "c_prev", c_prev, B, Hd, gh, !lstm);
  expect(op, "h", h, B, Hd, gh);
  expect(op, "c", c, B, Hd, gh, !lstm);
  expect(op, "saved", saved, B, 4 * Hd, gh);
  if (gh.is_device()) {
    check_dtype(op, gh, DType::F32);
    AD_ON_DEVICE(op, gh, recurrent_cell_forward(cell, ptr<float>(gx), gh.data<float>(), b_ih.data<float>(),
                                                b_hh.data<float>(), ptr<float>(h_prev), ptr<float>(c_prev),
                                                h.data<float>(), ptr<float>(c), saved.data<float>(), B, Hd));
  } else {
    dispatch_floating(op, gh.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::recurrent_cell_forward<T>(cell, ptr<T>(gx), gh.data<T>(), b_ih.data<T>(), b_hh.data<T>(), ptr<T>(h_prev),
                                     ptr<T>(c_prev), h.data<T>(), ptr<T>(c), saved.data<T>(), B, Hd);
    });
  }
}

void recurrent_cell_backward(RecurrentCell cell, const Tensor& saved, const Tensor& h_prev, const Tensor& c_prev,
                             const Tensor& c, const Tensor& dout, Tensor& dh_rec, Tensor& dc, Tensor& dgx,
                             Tensor& dgh) {
  const char* op = "recurrent_cell_backward";
  const int64_t G = recurrent_gates(cell);
  AD_CHECK(saved.dim() == 2 && saved.size(1) % 4 == 0, op, "saved must be [B, 4*Hd], got ", saved.describe());
  const int64_t B = saved.size(0), Hd = saved.size(1) / 4;
  const bool lstm = cell == RecurrentCell::LSTM;
  expect(op, "h_prev", h_prev, B, Hd, saved, lstm);
  expect(op, "c_prev", c_prev, B, Hd, saved, !lstm);
  expect(op, "c", c, B, Hd, saved, !lstm);
  expect(op, "dc", dc, B, Hd, saved, !lstm);
  expect(op, "dout", dout, B, Hd, saved, true);
  expect(op, "dh_rec", dh_rec, B, Hd, saved);
  expect(op, "dgx", dgx, B, G * Hd, saved);
  expect(op, "dgh", dgh, B, G * Hd, saved, lstm);
  if (saved.is_device()) {
    check_dtype(op, saved, DType::F32);
    AD_ON_DEVICE(op, saved, recurrent_cell_backward(cell, saved.data<float>(), ptr<float>(h_prev),
                                                    ptr<float>(c_prev), ptr<float>(c), ptr<float>(dout),
                                                    dh_rec.data<float>(), ptr<float>(dc), dgx.data<float>(),
                                                    ptr<float>(dgh), B, Hd));
  } else {
    dispatch_floating(op, saved.dtype(), [&](auto t) {
      using T = decltype(t);
      cpu::recurrent_cell_backward<T>(cell, saved.data<T>(), ptr<T>(h_prev), ptr<T>(c_prev), ptr<T>(c), ptr<T>(dout),
                                      dh_rec.data<T>(), ptr<T>(dc), dgx.data<T>(), ptr<T>(dgh), B, Hd);
    });
  }
}

}  // namespace ad
