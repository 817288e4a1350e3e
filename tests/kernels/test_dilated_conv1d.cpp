#include <gtest/gtest.h>

#include "kernels/dilated_conv1d.cuh"
#include "kernels/dilated_conv1d_gemm.cuh"
#include "kernels/gemm.h"
#include "kernels/shifted_rows_f32.h"
#include "layers/parameter.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
// Awkward shapes: T = 1, T shorter than the reach (K-1)*d, channel counts that are not multiples of
// the 32-wide tiles, K = 1..4, dilation 1/2/7, batch 1 and 3.
const Conv1dShape kShapes[] = {
    {1, 1, 3, 5, 2, 1},    {3, 5, 7, 33, 2, 7},   {1, 40, 33, 3, 2, 2}, {3, 37, 5, 40, 3, 2},
    {1, 70, 64, 32, 2, 1}, {3, 9, 2, 2, 1, 1},    {3, 20, 4, 6, 4, 7},  {1, 33, 1, 1, 2, 7},
};

std::string describe(const Conv1dShape& s) {
  return "B=" + std::to_string(s.batch) + " T=" + std::to_string(s.steps) + " Cin=" + std::to_string(s.cin) +
         " Cout=" + std::to_string(s.cout) + " K=" + std::to_string(s.ksize) + " d=" + std::to_string(s.dilation);
}

struct ConvData {
  Tensor x, w, b, dy, dw0, db0;
  ConvData(const Conv1dShape& s, uint64_t seed, DType dt = DType::F32, Device dev = Device::CPU) {
    x = test::random_tensor({s.batch, s.steps, s.cin}, seed, -1, 1, dt, dev);
    w = test::random_tensor({s.ksize, s.cin, s.cout}, seed + 1, -0.5, 0.5, dt, dev);
    b = test::random_tensor({s.cout}, seed + 2, -0.5, 0.5, dt, dev);
    dy = test::random_tensor({s.batch, s.steps, s.cout}, seed + 3, -1, 1, dt, dev);
    dw0 = test::random_tensor({s.ksize, s.cin, s.cout}, seed + 4, -1, 1, dt, dev);  // grads accumulate onto these
    db0 = test::random_tensor({s.cout}, seed + 5, -1, 1, dt, dev);
  }
};
}  // namespace

TEST(EmulatedDilatedConv1d, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (const Conv1dShape& s : kShapes)
      for (int64_t target_blocks : {1, 512}) {  // one slice of B*T (plain +=) and many (partials, then a sum)
        SCOPED_TRACE(describe(s) + " target_blocks=" + std::to_string(target_blocks));
        ConvData d(s, 100);
        Tensor y = Tensor::empty({s.batch, s.steps, s.cout}), dx = Tensor::empty(d.x.shape());
        Tensor dw = d.dw0.clone(), db = d.db0.clone();
        dilated_conv1d_forward(d.x, d.w, d.b, y, s.dilation);
        dilated_conv1d_backward_data(d.dy, d.w, dx, s.dilation);
        dilated_conv1d_backward_params(d.x, d.dy, dw, db, s.dilation);

        test::GuardedBuffer gx(d.x), gw(d.w), gb(d.b), gdy(d.dy), gdw(d.dw0), gdb(d.db0);
        test::GuardedBuffer gy{size_t(y.numel())}, gdx{size_t(dx.numel())};
        EmulatedLauncher l;
        launch_dilated_conv1d_forward(l, s, gx.data(), gw.data(), gb.data(), gy.data());
        launch_dilated_conv1d_backward_data(l, s, gdy.data(), gw.data(), gdx.data());
        test::GuardedBuffer partial{size_t(conv_weight_grad_workspace(s, target_blocks))};
        launch_dilated_conv1d_backward_params(l, s, gx.data(), gdy.data(), gdw.data(), gdb.data(), partial.data(),
                                              target_blocks);
        EXPECT_TRUE(test::all_close(gy.tensor(y.shape()), y, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdx.tensor(dx.shape()), dx, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdw.tensor(dw.shape()), dw, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdb.tensor(db.shape()), db, 1e-5, 1e-5));
        for (auto* g : {&gx, &gw, &gb, &gdy, &gdw, &gdb, &gy, &gdx}) EXPECT_TRUE(g->check_canaries());
      }
  });
}

TEST(EmulatedDilatedConv1d, NoBiasAndLargeKernel) {
  test::for_each_schedule([&] {
    // K = 40 shrinks the staged channel chunk below the channel count; no bias pointers at all.
    Conv1dShape s{2, 50, 7, 5, 40, 1};
    ConvData d(s, 7);
    Tensor y = Tensor::empty({s.batch, s.steps, s.cout}), dw = d.dw0.clone(), none;
    dilated_conv1d_forward(d.x, d.w, none, y, s.dilation);
    dilated_conv1d_backward_params(d.x, d.dy, dw, none, s.dilation);
    EXPECT_LT(conv_tile_chunk(s.ksize), s.cin);
    test::GuardedBuffer gx(d.x), gw(d.w), gdy(d.dy), gdw(d.dw0), gy{size_t(y.numel())};
    EmulatedLauncher l;
    launch_dilated_conv1d_forward(l, s, gx.data(), gw.data(), nullptr, gy.data());
    test::GuardedBuffer partial{size_t(conv_weight_grad_workspace(s))};
    launch_dilated_conv1d_backward_params(l, s, gx.data(), gdy.data(), gdw.data(), nullptr, partial.data());
    EXPECT_TRUE(test::all_close(gy.tensor(y.shape()), y, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdw.tensor(dw.shape()), dw, 1e-5, 1e-5));
    EXPECT_TRUE(gy.check_canaries());
    EXPECT_TRUE(gdw.check_canaries());
  });
}

// The register-blocked 64 x 64 tile kernel (chosen by shape for large C and T), forced here on awkward
// small shapes: T and C not multiples of 64 or 16, T shorter than a tile, several input-channel chunks,
// K 1..4, long dilations; forward and backward data against the CPU reference.
TEST(EmulatedDilatedConv1d, WideTileMatchesCpuReference) {
  const Conv1dShape shapes[] = {{2, 70, 37, 67, 2, 5}, {1, 130, 65, 129, 3, 7}, {1, 5, 3, 2, 4, 1},
                                {3, 17, 70, 20, 1, 1}, {1, 66, 16, 17, 2, 64}};
  test::for_each_schedule([&] {
    for (const Conv1dShape& s : shapes) {
      SCOPED_TRACE(describe(s));
      ConvData d(s, 300);
      Tensor y = Tensor::empty({s.batch, s.steps, s.cout}), dx = Tensor::empty(d.x.shape());
      dilated_conv1d_forward(d.x, d.w, d.b, y, s.dilation);
      dilated_conv1d_backward_data(d.dy, d.w, dx, s.dilation);
      test::GuardedBuffer gx(d.x), gw(d.w), gb(d.b), gdy(d.dy);
      test::GuardedBuffer gy{size_t(y.numel())}, gdx{size_t(dx.numel())};
      EmulatedLauncher l;
      launch_dilated_conv1d_forward(l, s, gx.data(), gw.data(), gb.data(), gy.data(), ConvTilePath::Wide);
      launch_dilated_conv1d_backward_data(l, s, gdy.data(), gw.data(), gdx.data(), ConvTilePath::Wide);
      EXPECT_TRUE(test::all_close(gy.tensor(y.shape()), y, 1e-5, 1e-5));
      EXPECT_TRUE(test::all_close(gdx.tensor(dx.shape()), dx, 1e-5, 1e-5));
      for (auto* g : {&gx, &gw, &gb, &gdy, &gy, &gdx}) EXPECT_TRUE(g->check_canaries());
    }
  });
  // Auto keeps the 32 x 32 kernel for DC-VAE's sizes and takes the wide one for the measured losing shape.
  EXPECT_FALSE(conv_tile_wide(128, 64, 64, ConvTilePath::Auto));
  EXPECT_FALSE(conv_tile_wide(1024, 16, 16, ConvTilePath::Auto));
  EXPECT_TRUE(conv_tile_wide(1024, 256, 256, ConvTilePath::Auto));
}

// The GEMM path (causal im2col + GEMM, dilated_conv1d_gemm.cuh) with the CPU GEMM as its product, under every
// emulated schedule, against the plain loop reference: channels not multiples of 32, K 1..3, dilations 1, 3, 17,
// T shorter than the reach (some taps left out: 3rd shape; only the shift-0 tap left: 4th), K 1, B > 1; each with
// the default workspace (one chunk of rows) and a tiny one (many chunks; dW accumulates over them).
TEST(EmulatedDilatedConv1dGemm, AllPassesMatchCpuReference) {
  const Conv1dShape shapes[] = {{3, 37, 5, 40, 3, 1}, {2, 45, 33, 17, 2, 3}, {2, 20, 7, 9, 3, 17},
                                {3, 9, 6, 5, 3, 17},  {2, 50, 70, 65, 1, 1}, {4, 33, 19, 129, 2, 17}};
  const auto cpu_gemm = [](bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
    cpu::gemm<float>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  };
  test::for_each_schedule([&] {
    for (const Conv1dShape& s : shapes)
      for (int64_t max_floats : {kConvGemmWorkspaceFloats, int64_t(150)}) {
        SCOPED_TRACE(describe(s) + " max_floats=" + std::to_string(max_floats));
        ConvData d(s, 500);
        Tensor y = Tensor::empty({s.batch, s.steps, s.cout}), dx = Tensor::empty(d.x.shape());
        Tensor dw = d.dw0.clone(), db = d.db0.clone();
        cpu::dilated_conv1d_forward<float>(s, d.x.data<float>(), d.w.data<float>(), d.b.data<float>(),
                                           y.data<float>());
        cpu::dilated_conv1d_backward_data<float>(s, d.dy.data<float>(), d.w.data<float>(), dx.data<float>());
        cpu::dilated_conv1d_backward_params<float>(s, d.x.data<float>(), d.dy.data<float>(), dw.data<float>(),
                                                   db.data<float>());
        const ConvGemmPlan pf = conv_gemm_plan(s, s.cin, max_floats), pd = conv_gemm_plan(s, s.cout, max_floats);
        if (s.dilation == 17 && s.steps <= 17) EXPECT_EQ(pf.taps, 1);
        if (max_floats == 150 && pf.taps > 1) EXPECT_LT(pf.chunk_rows, s.batch * s.steps);

        test::GuardedBuffer gx(d.x), gw(d.w), gb(d.b), gdy(d.dy), gdw(d.dw0), gdb(d.db0);
        test::GuardedBuffer gy{size_t(y.numel())}, gdx{size_t(dx.numel())};
        test::GuardedBuffer cols_f{size_t(pf.cols_floats)}, cols_d{size_t(pd.cols_floats)};
        test::GuardedBuffer wt{size_t(conv_gemm_wt_floats(s))};
        test::GuardedBuffer partial{size_t(column_sum_workspace(s.batch * s.steps, s.cout))};
        EmulatedLauncher l;
        launch_conv_gemm_forward(l, cpu_gemm, s, gx.data(), gw.data(), gb.data(), gy.data(), cols_f.data(),
                                 max_floats);
        launch_conv_gemm_backward_data(l, cpu_gemm, s, gdy.data(), gw.data(), gdx.data(), cols_d.data(), wt.data(),
                                       max_floats);
        launch_conv_gemm_backward_params(l, cpu_gemm, s, gx.data(), gdy.data(), gdw.data(), gdb.data(),
                                         cols_f.data(), partial.data(), max_floats);
        EXPECT_TRUE(test::all_close(gy.tensor(y.shape()), y, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdx.tensor(dx.shape()), dx, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdw.tensor(dw.shape()), dw, 1e-5, 1e-5));
        EXPECT_TRUE(test::all_close(gdb.tensor(db.shape()), db, 1e-5, 1e-5));
        for (auto* g : {&gx, &gw, &gb, &gdy, &gdw, &gdb, &gy, &gdx, &cols_f, &cols_d, &wt, &partial})
          EXPECT_TRUE(g->check_canaries());
      }
  });
}

TEST(EmulatedDilatedConv1dGemm, NoBias) {
  test::for_each_schedule([&] {
    Conv1dShape s{2, 23, 9, 11, 2, 3};
    ConvData d(s, 8);
    Tensor y = Tensor::empty({s.batch, s.steps, s.cout}), dw = d.dw0.clone();
    cpu::dilated_conv1d_forward<float>(s, d.x.data<float>(), d.w.data<float>(), nullptr, y.data<float>());
    cpu::dilated_conv1d_backward_params<float>(s, d.x.data<float>(), d.dy.data<float>(), dw.data<float>(), nullptr);
    Tensor gx = d.x.to(Device::Emulated), gw = d.w.to(Device::Emulated), gdy = d.dy.to(Device::Emulated);
    Tensor gy = Tensor::empty(y.shape(), DType::F32, Device::Emulated), gdw = d.dw0.to(Device::Emulated), none;
    dilated_conv1d_forward(gx, gw, none, gy, s.dilation, ConvPath::Gemm);
    dilated_conv1d_backward_params(gx, gdy, gdw, none, s.dilation, ConvPath::Gemm);
    EXPECT_TRUE(test::all_close(gy, y, 1e-5, 1e-5));
    EXPECT_TRUE(test::all_close(gdw, dw, 1e-5, 1e-5));
  });
}

// Auto: the tile kernels for DC-VAE's sizes and small batches of long series, GEMM for the measured losing shape.
TEST(DilatedConv1dPath, AutoChoosesGemmOnlyForLargeShapes) {
  EXPECT_FALSE(conv_use_gemm(Conv1dShape{32, 128, 64, 64, 2, 1}));
  EXPECT_FALSE(conv_use_gemm(Conv1dShape{32, 1024, 16, 16, 2, 8}));
  EXPECT_FALSE(conv_use_gemm(Conv1dShape{2, 1024, 256, 256, 2, 8}));
  EXPECT_TRUE(conv_use_gemm(Conv1dShape{32, 1024, 256, 256, 2, 1}));
  EXPECT_TRUE(conv_use_gemm(Conv1dShape{8, 1024, 64, 128, 2, 64}));
}

TEST(DilatedConv1dCausality, OutputBeforeTDoesNotDependOnLaterInput) {
  for (const Conv1dShape& s : {Conv1dShape{2, 30, 5, 4, 2, 1}, Conv1dShape{1, 40, 3, 6, 3, 7}})
    for (int64_t tp : {int64_t(0), int64_t(13), s.steps - 1}) {
      SCOPED_TRACE(describe(s) + " perturbed t=" + std::to_string(tp));
      ConvData d(s, 21);
      Tensor x2 = d.x.clone();
      for (int64_t b = 0; b < s.batch; ++b)
        for (int64_t c = 0; c < s.cin; ++c) x2.data<float>()[(b * s.steps + tp) * s.cin + c] += 3.0f;
      auto run_both = [&](const Tensor& x) {
        Tensor y = Tensor::empty({s.batch, s.steps, s.cout});
        dilated_conv1d_forward(x, d.w, d.b, y, s.dilation);
        test::GuardedBuffer gx(x), gw(d.w), gb(d.b), gy{size_t(y.numel())};
        EmulatedLauncher l;
        launch_dilated_conv1d_forward(l, s, gx.data(), gw.data(), gb.data(), gy.data());
        return std::pair{y, gy.tensor(y.shape())};
      };
      auto [y1, e1] = run_both(d.x);
      auto [y2, e2] = run_both(x2);
      bool changed = false;
      for (int64_t b = 0; b < s.batch; ++b)
        for (int64_t t = 0; t < s.steps; ++t)
          for (int64_t o = 0; o < s.cout; ++o) {
            int64_t i = (b * s.steps + t) * s.cout + o;
            if (t < tp) {
              ASSERT_EQ(y1.data<float>()[i], y2.data<float>()[i]) << "cpu b=" << b << " t=" << t;
              ASSERT_EQ(e1.data<float>()[i], e2.data<float>()[i]) << "emulated b=" << b << " t=" << t;
            } else if (y1.data<float>()[i] != y2.data<float>()[i]) {
              changed = true;
            }
          }
      EXPECT_TRUE(changed) << "perturbing x at t=" << tp << " changed nothing at or after it";
    }
}

TEST(DilatedConv1dErrors, RejectsMismatchedShapes) {
  Tensor x = Tensor::zeros({2, 5, 3}), w = Tensor::zeros({2, 4, 6}), b = Tensor::zeros({6}),
         y = Tensor::zeros({2, 5, 6});
  EXPECT_THROW(dilated_conv1d_forward(x, w, b, y, 1), Error);
  Tensor w2 = Tensor::zeros({2, 3, 6}), ybad = Tensor::zeros({2, 4, 6});
  EXPECT_THROW(dilated_conv1d_forward(x, w2, b, ybad, 1), Error);
  EXPECT_THROW(dilated_conv1d_forward(x, w2, b, y, 0), Error);
  EXPECT_NO_THROW(dilated_conv1d_forward(x, w2, b, y, 1));
}

TEST(GradCheckDilatedConv1d, DataWeightAndBias) {
  for (const Conv1dShape& s : {Conv1dShape{2, 9, 3, 4, 2, 3}, Conv1dShape{1, 5, 2, 3, 3, 2},
                               Conv1dShape{3, 6, 2, 2, 2, 7}, Conv1dShape{1, 1, 2, 3, 2, 1}}) {
    SCOPED_TRACE(describe(s));
    ConvData d(s, 5, DType::F64);
    Parameter w("weight", d.w), b("bias", d.b);
    Tensor x = d.x;
    auto forward = [&] {
      Tensor y = Tensor::empty({s.batch, s.steps, s.cout}, DType::F64);
      dilated_conv1d_forward(x, w.value, b.value, y, s.dilation);
      return y;
    };
    auto backward = [&](const Tensor& dy) {
      Tensor dx = Tensor::empty(x.shape(), DType::F64);
      dilated_conv1d_backward_data(dy, w.value, dx, s.dilation);
      dilated_conv1d_backward_params(x, dy, w.grad, b.grad, s.dilation);
      return std::vector<Tensor>{dx};
    };
    AD_EXPECT_GRADCHECK(test::grad_check({x}, {&w, &b}, forward, backward));
  }
}

// Forward, backward-data and the parameter gradients of one shape on the CPU and on device G (path forced there),
// compared: y and dx within out_tol (rtol, atol), dw within dw_tol, db (plain f32 column sums) within (1e-3, 1e-4).
struct ConvTolerance { double rtol, atol; };
static void expect_device_matches_cpu(const Conv1dShape& s, const ConvData& d, Device G, ConvPath path,
                                      ConvTolerance out_tol, ConvTolerance dw_tol) {
  Tensor y = Tensor::empty({s.batch, s.steps, s.cout}), dx = Tensor::empty(d.x.shape());
  Tensor dw = d.dw0.clone(), db = d.db0.clone();
  dilated_conv1d_forward(d.x, d.w, d.b, y, s.dilation);
  dilated_conv1d_backward_data(d.dy, d.w, dx, s.dilation);
  dilated_conv1d_backward_params(d.x, d.dy, dw, db, s.dilation);

  Tensor gx = d.x.to(G), gw = d.w.to(G), gb = d.b.to(G), gdy = d.dy.to(G), gdw = d.dw0.to(G), gdb = d.db0.to(G);
  Tensor gy = Tensor::empty(y.shape(), DType::F32, G), gdx = Tensor::empty(dx.shape(), DType::F32, G);
  dilated_conv1d_forward(gx, gw, gb, gy, s.dilation, path);
  dilated_conv1d_backward_data(gdy, gw, gdx, s.dilation, path);
  dilated_conv1d_backward_params(gx, gdy, gdw, gdb, s.dilation, path);
  EXPECT_TRUE(test::all_close(gy, y, out_tol.rtol, out_tol.atol));
  EXPECT_TRUE(test::all_close(gdx, dx, out_tol.rtol, out_tol.atol));
  EXPECT_TRUE(test::all_close(gdw, dw, dw_tol.rtol, dw_tol.atol));
  EXPECT_TRUE(test::all_close(gdb, db, 1e-3, 1e-4));
}

TEST(GpuParityDilatedConv1d, MatchesCpuReferenceOnFreshInputs) {
  const Device G = test::parity_device();
  uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  // The emulated device runs one fiber per GPU thread: smaller (still awkward) shapes there. The last shape of
  // each list runs the wide tile kernel (C_out >= 128, C_in >= 64, T >= 256).
  const std::vector<Conv1dShape> shapes =
      cuda_available() ? std::vector<Conv1dShape>{{4, 300, 64, 64, 2, 16}, {3, 129, 33, 17, 3, 5},
                                                  {2, 1000, 32, 32, 2, 128}, {1, 7, 5, 3, 2, 9},
                                                  {2, 1030, 200, 257, 2, 8}}
                       : std::vector<Conv1dShape>{{2, 75, 19, 21, 2, 16}, {3, 129, 33, 17, 3, 5},
                                                  {1, 300, 13, 11, 2, 128}, {1, 7, 5, 3, 2, 9},
                                                  {1, 259, 65, 129, 2, 8}};
  for (const Conv1dShape& s : shapes) {
    SCOPED_TRACE(describe(s));
    ConvData d(s, seed);
    expect_device_matches_cpu(s, d, G, ConvPath::Auto, {1e-4, 1e-4}, {1e-3, 1e-4});
  }
}

// Each GPU path forced (the tile kernels, the wide tile kernels, im2col + GEMM) through the tensor front-end on
// the parity device, against the CPU: T not a multiple of the tiles, K 1..3, dilations 1, 3, 17, T shorter than
// the reach, B > 1. TF32 is off (the default), so the GEMM path is plain f32.
TEST(GpuParityDilatedConv1d, EachPathMatchesCpuReference) {
  const Device G = test::parity_device();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  ASSERT_FALSE(gemm_tf32());
  const std::vector<Conv1dShape> shapes =
      cuda_available() ? std::vector<Conv1dShape>{{5, 700, 130, 257, 2, 3}, {3, 300, 65, 70, 3, 17},
                                                  {4, 30, 33, 17, 3, 17}, {2, 1030, 256, 256, 1, 1}}
                       : std::vector<Conv1dShape>{{2, 75, 19, 21, 2, 3}, {3, 29, 13, 17, 3, 17},
                                                  {2, 30, 7, 9, 3, 17}, {3, 40, 11, 6, 1, 1}};
  for (ConvPath path : {ConvPath::Tile, ConvPath::WideTile, ConvPath::Gemm})
    for (const Conv1dShape& s : shapes) {
      SCOPED_TRACE(describe(s) + " path " + std::to_string(int(path)));
      ConvData d(s, seed);
      expect_device_matches_cpu(s, d, G, path, {1e-4, 1e-4}, {1e-3, 1e-4});
    }
}

// The GEMM path with the `tf32` switch on (kernels/gemm.h): on a GPU cuBLAS's TF32 tensor cores (inputs rounded
// to 10 mantissa bits: ~1e-3 relative error per product, so the tolerances are wider), on the emulated device the
// CPU product (the switch has no effect there). The switch is restored even when a check throws.
TEST(GpuParityDilatedConv1d, GemmPathWithTf32) {
  const Device G = test::parity_device();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  struct Tf32On {
    Tf32On() { set_gemm_tf32(true); }
    ~Tf32On() { set_gemm_tf32(false); }
  } tf32_on;
  const Conv1dShape s = cuda_available() ? Conv1dShape{4, 900, 256, 130, 2, 3} : Conv1dShape{2, 45, 33, 17, 2, 3};
  SCOPED_TRACE(describe(s));
  ConvData d(s, seed);
  expect_device_matches_cpu(s, d, G, ConvPath::Gemm, {5e-2, 1e-2}, {2e-1, 1e-2});
}

// The CPU path ops use (causal im2col + one BLAS GEMM per pass) against the plain loop reference: one tap only
// (T 1), taps that see only padding left out (shift >= T: the 2nd and 5th case), all taps, K 1.
TEST(DilatedConv1dCpuPath, BlasPathMatchesLoopReference) {
  struct Case { int64_t b, t, cin, cout, k, d; };
  for (Case c : {Case{1, 1, 1, 1, 2, 1}, Case{3, 5, 2, 7, 2, 7}, Case{2, 33, 5, 3, 3, 4}, Case{2, 16, 8, 8, 1, 1},
                 Case{2, 7, 3, 5, 4, 3}}) {
    SCOPED_TRACE(::testing::Message() << "B" << c.b << " T" << c.t << " Cin" << c.cin << " Cout" << c.cout << " K"
                                      << c.k << " d" << c.d);
    Conv1dShape s{c.b, c.t, c.cin, c.cout, c.k, c.d};
    Tensor x = test::random_tensor({c.b, c.t, c.cin}, 1, -1, 1, DType::F64);
    Tensor w = test::random_tensor({c.k, c.cin, c.cout}, 2, -1, 1, DType::F64);
    Tensor bias = test::random_tensor({c.cout}, 3, -1, 1, DType::F64);
    Tensor dy = test::random_tensor({c.b, c.t, c.cout}, 4, -1, 1, DType::F64);
    Tensor y = Tensor::empty({c.b, c.t, c.cout}, DType::F64), y_ref = y.clone();
    dilated_conv1d_forward(x, w, bias, y, c.d);
    cpu::dilated_conv1d_forward<double>(s, x.data<double>(), w.data<double>(), bias.data<double>(),
                                        y_ref.data<double>());
    EXPECT_TRUE(test::all_close(y, y_ref, 1e-12, 1e-12));
    Tensor dx = Tensor::empty(x.shape(), DType::F64), dx_ref = dx.clone();
    dilated_conv1d_backward_data(dy, w, dx, c.d);
    cpu::dilated_conv1d_backward_data<double>(s, dy.data<double>(), w.data<double>(), dx_ref.data<double>());
    EXPECT_TRUE(test::all_close(dx, dx_ref, 1e-12, 1e-12));
    Tensor dw = Tensor::full(w.shape(), 0.5, DType::F64), dw_ref = dw.clone();
    Tensor db = Tensor::full(bias.shape(), 0.25, DType::F64), db_ref = db.clone();
    dilated_conv1d_backward_params(x, dy, dw, db, c.d);
    cpu::dilated_conv1d_backward_params<double>(s, x.data<double>(), dy.data<double>(), dw_ref.data<double>(),
                                                db_ref.data<double>());
    EXPECT_TRUE(test::all_close(dw, dw_ref, 1e-12, 1e-12));  // both accumulate onto 0.5
    EXPECT_TRUE(test::all_close(db, db_ref, 1e-12, 1e-12));
  }
}

// The f32 CPU path (the direct AVX-512 kernel, kernels/shifted_rows_f32.h, where the CPU has it; else im2col +
// BLAS) against the f64 loop reference: channel counts below, between and above its 16-lane vectors and
// 64-column tiles, T not a multiple of its 6-row tiles and shorter than a tile, taps that see only padding,
// K 1..4, accumulation onto existing gradients; and dilated_conv1d_backward (both passes in one call) against
// the two separate calls.
TEST(DilatedConv1dCpuPath, F32PathMatchesF64Reference) {
  SCOPED_TRACE(cpu_direct::shifted_rows_available() ? "direct kernel" : "im2col + BLAS");
  struct Case { int64_t b, t, cin, cout, k, d; };
  for (Case c : {Case{1, 1, 1, 1, 2, 1}, Case{3, 5, 2, 7, 2, 7}, Case{2, 33, 5, 3, 3, 4}, Case{2, 16, 8, 8, 1, 1},
                 Case{2, 7, 3, 5, 4, 3}, Case{3, 128, 64, 64, 2, 64}, Case{2, 41, 12, 64, 2, 1},
                 Case{2, 50, 64, 12, 2, 16}, Case{1, 23, 70, 129, 3, 2}, Case{2, 13, 17, 4, 2, 5},
                 Case{1, 100, 64, 80, 2, 128}}) {
    SCOPED_TRACE(::testing::Message() << "B" << c.b << " T" << c.t << " Cin" << c.cin << " Cout" << c.cout << " K"
                                      << c.k << " d" << c.d);
    Conv1dShape s{c.b, c.t, c.cin, c.cout, c.k, c.d};
    Tensor x = test::random_tensor({c.b, c.t, c.cin}, 11, -1, 1, DType::F64);
    Tensor w = test::random_tensor({c.k, c.cin, c.cout}, 12, -1, 1, DType::F64);
    Tensor bias = test::random_tensor({c.cout}, 13, -1, 1, DType::F64);
    Tensor dy = test::random_tensor({c.b, c.t, c.cout}, 14, -1, 1, DType::F64);
    Tensor y_ref = Tensor::empty({c.b, c.t, c.cout}, DType::F64), dx_ref = Tensor::empty(x.shape(), DType::F64);
    Tensor dw_ref = Tensor::full(w.shape(), 0.5, DType::F64), db_ref = Tensor::full(bias.shape(), 0.25, DType::F64);
    cpu::dilated_conv1d_forward<double>(s, x.data<double>(), w.data<double>(), bias.data<double>(),
                                        y_ref.data<double>());
    cpu::dilated_conv1d_backward_data<double>(s, dy.data<double>(), w.data<double>(), dx_ref.data<double>());
    cpu::dilated_conv1d_backward_params<double>(s, x.data<double>(), dy.data<double>(), dw_ref.data<double>(),
                                                db_ref.data<double>());
    Tensor xf = x.to_dtype(DType::F32), wf = w.to_dtype(DType::F32), bf = bias.to_dtype(DType::F32),
           dyf = dy.to_dtype(DType::F32);
    // Outputs start as NaN so that an element the kernel never writes fails.
    Tensor y = Tensor::full({c.b, c.t, c.cout}, NAN, DType::F32), dx = Tensor::full(x.shape(), NAN, DType::F32);
    Tensor dw = Tensor::full(w.shape(), 0.5, DType::F32), db = Tensor::full(bias.shape(), 0.25, DType::F32);
    dilated_conv1d_forward(xf, wf, bf, y, c.d);
    dilated_conv1d_backward_data(dyf, wf, dx, c.d);
    dilated_conv1d_backward_params(xf, dyf, dw, db, c.d);
    EXPECT_TRUE(test::all_close(y.to_dtype(DType::F64), y_ref, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(dx.to_dtype(DType::F64), dx_ref, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(dw.to_dtype(DType::F64), dw_ref, 1e-4, 1e-4));
    EXPECT_TRUE(test::all_close(db.to_dtype(DType::F64), db_ref, 1e-4, 1e-4));
    // Both backward passes in one call (one parallel region on the direct path): the same results.
    Tensor dx2 = Tensor::full(x.shape(), NAN, DType::F32);
    Tensor dw2 = Tensor::full(w.shape(), 0.5, DType::F32), db2 = Tensor::full(bias.shape(), 0.25, DType::F32);
    dilated_conv1d_backward(xf, dyf, wf, dx2, dw2, db2, c.d);
    EXPECT_TRUE(test::bitwise_equal(dx2, dx));
    EXPECT_TRUE(test::bitwise_equal(dw2, dw));
    EXPECT_TRUE(test::bitwise_equal(db2, db));
  }
}
