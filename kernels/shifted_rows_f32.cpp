// The direct f32 kernel behind the CPU convolution (see shifted_rows_f32.h). Why not im2col + BLAS: for
// DC-VAE's shapes (B*T = 4096 rows, 64 channels, K = 2) the GEMM itself ran near peak, but laying out the
// shifted input (19% of inference, perf) and OpenBLAS packing it again (10%) cost as much as the products.
// Here each register tile of 6 output rows x 64 columns (24 AVX-512 accumulators) reads its input rows in
// place: per tap and input channel, one broadcast per row and 4 weight vectors (the packed weights, a few
// tens of KiB, stay in L1/L2). A row whose shifted time falls outside the sequence reads a zero row, so
// sequence boundaries and taps that only see padding need no special loops. Accumulation is plain f32
// fused multiply-adds in tap-then-channel order (what a GEMM with inner dimension K*C does), starting
// from the bias.
#include "kernels/shifted_rows_f32.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/dispatch.h"

namespace ad::cpu_direct {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
namespace {
typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));  // unaligned loads and stores
constexpr int kRows = 6, kLanes = 16, kMaxVecs = 4;

// 64-byte aligned scratch, per thread and slot, kept between calls.
float* aligned_scratch(int slot, int64_t count) {
  thread_local std::vector<float> buffers[5];
  std::vector<float>& b = buffers[slot];
  if (b.size() < size_t(count + kLanes)) b.resize(size_t(count + kLanes));
  auto p = reinterpret_cast<uintptr_t>(b.data());
  return reinterpret_cast<float*>((p + 63) & ~uintptr_t(63));
}

struct Job {
  int64_t batch, steps, win, taps, wout, ldw;
  const int64_t* off;
  const float* in;
  const float* wp;    // [taps][win][ldw], zero-padded columns, aligned
  const float* bias;  // [ldw] aligned, or null
  const float* zeros; // [win] zeros
  float* out;
};

// One tile: kRows rows x NV*16 columns starting at column col. rows[j*kRows + r]: input row of tap j for
// tile row r (a zero row when outside the sequence); active[j]: some row of the tile reads real input.
template <int NV>
[[gnu::always_inline]] inline void tile(const Job& jb, const float* const* rows, const char* active, int64_t col,
                                        float* const* dst) {
  v16 acc[kRows][NV];
  for (int v = 0; v < NV; ++v) {
    const v16 b = jb.bias ? *reinterpret_cast<const v16*>(jb.bias + col + v * kLanes) : v16{};
    for (int r = 0; r < kRows; ++r) acc[r][v] = b;
  }
  for (int64_t j = 0; j < jb.taps; ++j) {
    if (!active[j]) continue;
    const float* x[kRows];
    for (int r = 0; r < kRows; ++r) x[r] = rows[j * kRows + r];
    const float* w = jb.wp + j * jb.win * jb.ldw + col;
    for (int64_t c = 0; c < jb.win; ++c) {
      v16 wv[NV];
      for (int v = 0; v < NV; ++v) wv[v] = *reinterpret_cast<const v16*>(w + c * jb.ldw + v * kLanes);
      for (int r = 0; r < kRows; ++r) {
        const float xs = x[r][c];
        for (int v = 0; v < NV; ++v) acc[r][v] += xs * wv[v];
      }
    }
  }
  if (col + NV * kLanes <= jb.wout) {  // the usual case: whole vectors
    for (int r = 0; r < kRows; ++r)
      for (int v = 0; v < NV; ++v) *reinterpret_cast<v16u*>(dst[r] + col + v * kLanes) = acc[r][v];
    return;
  }
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < NV; ++v) {
      const int64_t c0 = col + v * kLanes, n = std::min<int64_t>(kLanes, jb.wout - c0);
      if (n == kLanes) {
        *reinterpret_cast<v16u*>(dst[r] + c0) = acc[r][v];
      } else if (n > 0) {
        float tmp[kLanes];
        std::memcpy(tmp, &acc[r][v], sizeof tmp);
        std::memcpy(dst[r] + c0, tmp, size_t(n) * sizeof(float));
      }
    }
}

// Tiles [lo, hi) of the batch (tile i: sequence i / tiles_per_seq, first step kRows * (i % tiles_per_seq)).
[[gnu::target("avx512f")]] void run_tiles(const Job& jb, int64_t lo, int64_t hi) {
  const int64_t per_seq = (jb.steps + kRows - 1) / kRows;
  std::vector<const float*> rows(size_t(jb.taps * kRows));
  std::vector<char> active(size_t(jb.taps));
  std::vector<float> dummy(size_t(jb.ldw));  // where a tile's rows past the sequence end are stored
  float* dst[kRows];
  for (int64_t i = lo; i < hi; ++i) {
    const int64_t b = i / per_seq, t0 = (i % per_seq) * kRows;
    for (int r = 0; r < kRows; ++r)
      dst[r] = t0 + r < jb.steps ? jb.out + (b * jb.steps + t0 + r) * jb.wout : dummy.data();
    for (int64_t j = 0; j < jb.taps; ++j) {
      bool any = false;
      for (int r = 0; r < kRows; ++r) {
        const int64_t t = t0 + r, ts = t + jb.off[j];
        const bool inside = t < jb.steps && ts >= 0 && ts < jb.steps;
        rows[size_t(j * kRows + r)] = inside ? jb.in + (b * jb.steps + ts) * jb.win : jb.zeros;
        any = any || inside;
      }
      active[size_t(j)] = any;
    }
    const char* act = active.data();
    for (int64_t col = 0; col < jb.ldw; col += kMaxVecs * kLanes) {
      switch (std::min<int64_t>(kMaxVecs, (jb.ldw - col) / kLanes)) {
        case 4: tile<4>(jb, rows.data(), act, col, dst); break;
        case 3: tile<3>(jb, rows.data(), act, col, dst); break;
        case 2: tile<2>(jb, rows.data(), act, col, dst); break;
        default: tile<1>(jb, rows.data(), act, col, dst); break;
      }
    }
  }
}

// The weight gradient: dW_j[c, :] += sum_{b,t} in[b, t + off_j, c] g[b, t, :] over the t whose shifted row is
// inside the sequence. A register tile holds 6 input channels x NV*16 output columns of one tap; each row of g
// is loaded once per tile and each of the 6 input values broadcast. Per thread, whole tiles (disjoint parts of
// dW), one sequence at a time for all of them so that the sequence's rows of in and g stay in L2.
struct GradJob {
  int64_t batch, steps, win, taps, wout, ldg;
  const int64_t* off;
  const float* in;
  const float* g;  // [B*T][ldg], aligned, zero-padded columns
  float* acc;      // [taps][win][ldg], aligned
};

template <int NV>
[[gnu::always_inline]] inline void grad_tile(const GradJob& jb, int64_t b, int64_t j, int64_t c0, int64_t col) {
  const int64_t off = jb.off[j], lo = std::max<int64_t>(0, -off), hi = std::min(jb.steps, jb.steps - off);
  if (lo >= hi) return;
  int64_t cidx[kRows];  // past the last channel: read the last one again, never stored
  for (int r = 0; r < kRows; ++r) cidx[r] = std::min<int64_t>(c0 + r, jb.win - 1) - c0;
  float* a = jb.acc + (j * jb.win + c0) * jb.ldg + col;
  v16 acc[kRows][NV];
  for (int r = 0; r < kRows; ++r)
    for (int v = 0; v < NV; ++v) acc[r][v] = *reinterpret_cast<const v16*>(a + r * jb.ldg + v * kLanes);
  const float* x = jb.in + (b * jb.steps + lo + off) * jb.win + c0;  // row t + off, from t = lo
  const float* g = jb.g + (b * jb.steps + lo) * jb.ldg + col;
  for (int64_t i = 0; i < hi - lo; ++i) {
    v16 gv[NV];
    for (int v = 0; v < NV; ++v) gv[v] = *reinterpret_cast<const v16*>(g + i * jb.ldg + v * kLanes);
    for (int r = 0; r < kRows; ++r) {
      const float xs = x[i * jb.win + cidx[r]];
      for (int v = 0; v < NV; ++v) acc[r][v] += xs * gv[v];
    }
  }
  for (int r = 0; r < kRows; ++r)
    if (c0 + r < jb.win)
      for (int v = 0; v < NV; ++v) *reinterpret_cast<v16*>(a + r * jb.ldg + v * kLanes) = acc[r][v];
}

// Tiles [lo, hi) of taps x channel blocks x column blocks.
[[gnu::target("avx512f")]] void run_grad_tiles(const GradJob& jb, int64_t lo, int64_t hi) {
  const int64_t cblocks = (jb.win + kRows - 1) / kRows,
                colblocks = (jb.ldg + kMaxVecs * kLanes - 1) / (kMaxVecs * kLanes);
  for (int64_t b = 0; b < jb.batch; ++b)
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t j = i / (cblocks * colblocks), c0 = (i / colblocks) % cblocks * kRows,
                    col = i % colblocks * kMaxVecs * kLanes;
      switch (std::min<int64_t>(kMaxVecs, (jb.ldg - col) / kLanes)) {
        case 4: grad_tile<4>(jb, b, j, c0, col); break;
        case 3: grad_tile<3>(jb, b, j, c0, col); break;
        case 2: grad_tile<2>(jb, b, j, c0, col); break;
        default: grad_tile<1>(jb, b, j, c0, col); break;
      }
    }
}
}  // namespace

bool shifted_rows_available() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

namespace {
// Packs the weights (and bias) into zero-padded, 64-byte aligned rows of ldw columns (aligned vector loads;
// the padding columns compute zeros that are never stored). transposed: tap j's matrix is given as
// [wout][win] (the forward weights, read by the input-gradient pass).
Job prepare_product(int64_t batch, int64_t steps, const float* in, int64_t win, int64_t taps, const int64_t* off,
                    const float* w_taps, bool transposed, int64_t wout, const float* bias, float* out) {
  const int64_t ldw = (wout + kLanes - 1) / kLanes * kLanes;
  float* wp = aligned_scratch(0, taps * win * ldw);
  for (int64_t j = 0; j < taps; ++j)
    for (int64_t r = 0; r < win; ++r) {
      float* d = wp + (j * win + r) * ldw;
      const float* w = w_taps + j * win * wout;
      if (transposed)
        for (int64_t c = 0; c < wout; ++c) d[c] = w[c * win + r];
      else
        std::copy(w + r * wout, w + (r + 1) * wout, d);
      std::fill(d + wout, d + ldw, 0.0f);
    }
  float* bp = nullptr;
  if (bias) {
    bp = aligned_scratch(1, ldw);
    std::copy(bias, bias + wout, bp);
    std::fill(bp + wout, bp + ldw, 0.0f);
  }
  float* zeros = aligned_scratch(2, win);
  std::fill(zeros, zeros + win, 0.0f);
  return Job{batch, steps, win, taps, wout, ldw, off, in, wp, bp, zeros, out};
}
int64_t product_tiles(const Job& jb) { return jb.batch * ((jb.steps + kRows - 1) / kRows); }

GradJob prepare_gradient(int64_t batch, int64_t steps, const float* in, int64_t win, int64_t taps,
                         const int64_t* off, const float* g, int64_t wout) {
  const int64_t ldg = (wout + kLanes - 1) / kLanes * kLanes, rows = batch * steps;
  const float* gp = g;
  if (ldg != wout || reinterpret_cast<uintptr_t>(g) % 64 != 0) {  // aligned rows of whole vectors
    float* p = aligned_scratch(3, rows * ldg);
    for (int64_t n = 0; n < rows; ++n) {
      std::copy(g + n * wout, g + (n + 1) * wout, p + n * ldg);
      std::fill(p + n * ldg + wout, p + (n + 1) * ldg, 0.0f);
    }
    gp = p;
  }
  float* acc = aligned_scratch(4, taps * win * ldg);
  std::fill(acc, acc + taps * win * ldg, 0.0f);
  return GradJob{batch, steps, win, taps, wout, ldg, off, in, gp, acc};
}
int64_t gradient_tiles(const GradJob& jb) {
  return jb.taps * ((jb.win + kRows - 1) / kRows) * ((jb.ldg + kMaxVecs * kLanes - 1) / (kMaxVecs * kLanes));
}
void finish_gradient(const GradJob& jb, float* dw_taps) {
  for (int64_t r = 0; r < jb.taps * jb.win; ++r)
    for (int64_t o = 0; o < jb.wout; ++o) dw_taps[r * jb.wout + o] += jb.acc[r * jb.ldg + o];
}

bool worth_threads(int64_t batch, int64_t steps, int64_t win, int64_t taps, int64_t wout) {
  return batch * steps * win * taps * wout >= 4 * kCpuParallelMin;
}
}  // namespace

void shifted_rows_product(int64_t batch, int64_t steps, const float* in, int64_t win, int64_t taps,
                          const int64_t* off, const float* w_taps, bool transposed, int64_t wout, const float* bias,
                          float* out) {
  const Job jb = prepare_product(batch, steps, in, win, taps, off, w_taps, transposed, wout, bias, out);
  const int64_t tiles = product_tiles(jb);
#pragma omp parallel if (worth_threads(batch, steps, win, taps, wout) && tiles > 1)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    run_tiles(jb, tiles * t / nt, tiles * (t + 1) / nt);
  }
}

void shifted_rows_gradient(int64_t batch, int64_t steps, const float* in, int64_t win, int64_t taps,
                           const int64_t* off, const float* g, int64_t wout, float* dw_taps) {
  const GradJob jb = prepare_gradient(batch, steps, in, win, taps, off, g, wout);
  const int64_t tiles = gradient_tiles(jb);
#pragma omp parallel if (worth_threads(batch, steps, win, taps, wout) && tiles > 1)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    run_grad_tiles(jb, tiles * t / nt, tiles * (t + 1) / nt);
  }
  finish_gradient(jb, dw_taps);
}

void shifted_rows_backward(int64_t batch, int64_t steps, const float* x, int64_t cin, int64_t taps,
                           const int64_t* off, const float* w_taps, const float* dy, int64_t cout, float* dx,
                           float* dw_taps) {
  std::vector<int64_t> back(off, off + taps);  // dx reads dy at t - off_j
  for (int64_t& o : back) o = -o;
  const Job dj = prepare_product(batch, steps, dy, cout, taps, back.data(), w_taps, true, cin, nullptr, dx);
  const GradJob gj = prepare_gradient(batch, steps, x, cin, taps, off, dy, cout);
  const int64_t dtiles = product_tiles(dj), gtiles = gradient_tiles(gj);
  // The two passes are independent (dx, and dW's scratch accumulators): each thread does its share of both,
  // with no barrier between them.
#pragma omp parallel if (worth_threads(batch, steps, cin, taps, cout))
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    run_tiles(dj, dtiles * t / nt, dtiles * (t + 1) / nt);
    run_grad_tiles(gj, gtiles * t / nt, gtiles * (t + 1) / nt);
  }
  finish_gradient(gj, dw_taps);
}

#else  // no x86-64 GCC/Clang vector extensions: callers use their BLAS path

bool shifted_rows_available() { return false; }
void shifted_rows_product(int64_t, int64_t, const float*, int64_t, int64_t, const int64_t*, const float*, bool,
                          int64_t, const float*, float*) {}
void shifted_rows_gradient(int64_t, int64_t, const float*, int64_t, int64_t, const int64_t*, const float*, int64_t,
                           float*) {}
void shifted_rows_backward(int64_t, int64_t, const float*, int64_t, int64_t, const int64_t*, const float*,
                           const float*, int64_t, float*, float*) {}

#endif

}  // namespace ad::cpu_direct
