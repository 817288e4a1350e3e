// Our causal dilated conv (forward + backward data + backward weight/bias, layout [B, T, C]) against
// cuDNN's convolution on the same shapes, sweeping (channels, T, dilation, batch) with K = 2 (DC-VAE).
// On the GPU ours runs once per path (arg `path`): 0 Auto (what the ops choose by shape), 1 the 32 x 32 tile
// kernels, 2 the 64 x 64 register-blocked tile kernels, 3 im2col + cuBLAS GEMM in f32, 4 the same GEMM with TF32
// tensor cores (kernels/gemm.h's switch, on for that run only); kernels/dilated_conv1d.h ConvPath.
// cuDNN runs NCHW with H = 1 (its usual fp32 format; the benchmark leaves out the transposes our
// channels-last layout would need) and symmetric padding of (K-1)*d, so its first T outputs are the
// causal ones; the extra (K-1)*d outputs it computes are its price for lacking one-sided padding.
// cuDNN math is FMA (plain fp32, like ours) or TF32 tensor cores (math = 1), algorithms from the
// v7 heuristics. Counters: FLOP/s (2 * multiply-adds of the three passes, T outputs only) and
// peak_MiB, the peak of ad::memory_stats over the run (tensors and cuDNN / our GEMM path's workspaces).
// Without a GPU only our CPU path is registered (path 0: the CPU has one), on a smaller sweep.
#include <benchmark/benchmark.h>

#include <cstdio>

#include "kernels/dilated_conv1d.h"
#include "kernels/gemm.h"
#include "runtime/memory.h"
#define AD_CUDA_HOST_CODE 1
#include "runtime/cuda_context.h"
#include "runtime/cpu_threads.h"
#if AD_WITH_CUDA
#include <cudnn.h>
#endif

using namespace ad;

namespace {
constexpr int64_t kKernel = 2;

Conv1dShape shape_of(const benchmark::State& st) {
  // args: channels, T, dilation, batch
  return Conv1dShape{st.range(3), st.range(1), st.range(0), st.range(0), kKernel, st.range(2)};
}

Tensor filled(const Shape& s, Device dev, double v) { return Tensor::full(s, v, DType::F32, dev); }

void report(benchmark::State& st, const Conv1dShape& s, Device dev) {
  const double flops = 3.0 * 2.0 * double(s.macs());
  st.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["peak_MiB"] = double(memory_stats(dev).peak) / (1024.0 * 1024.0);
}

void BM_OurDilatedConv(benchmark::State& st) {
  const Device dev = cuda_available() ? Device::CUDA : Device::CPU;
  const Conv1dShape s = shape_of(st);
  reset_peak_memory(dev);
  Tensor x = filled({s.batch, s.steps, s.cin}, dev, 0.5), w = filled({s.ksize, s.cin, s.cout}, dev, 0.01);
  Tensor b = filled({s.cout}, dev, 0.1), y = filled({s.batch, s.steps, s.cout}, dev, 0);
  Tensor dy = filled({s.batch, s.steps, s.cout}, dev, 0.2), dx = filled(x.shape(), dev, 0);
  Tensor dw = filled(w.shape(), dev, 0), db = filled(b.shape(), dev, 0);
  // path: 0 Auto, 1 Tile, 2 WideTile, 3 Gemm, 4 Gemm with TF32 (see the top of the file).
  const int64_t p = st.range(4);
  const ConvPath path =
      p == 1 ? ConvPath::Tile : p == 2 ? ConvPath::WideTile : p >= 3 ? ConvPath::Gemm : ConvPath::Auto;
  const bool tf32_before = gemm_tf32();
  set_gemm_tf32(p == 4);
  auto pass = [&] {
    dilated_conv1d_forward(x, w, b, y, s.dilation, path);
    dilated_conv1d_backward_data(dy, w, dx, s.dilation, path);
    dilated_conv1d_backward_params(x, dy, dw, db, s.dilation, path);
    if (dev == Device::CUDA) cuda_synchronize();
  };
  pass();  // warm-up: module loading and allocator caching stay out of the timing
  for (auto _ : st) pass();
  set_gemm_tf32(tf32_before);
  report(st, s, dev);
  static const char* const kPathNames[] = {"auto", "tile", "wide", "gemm", "gemm_tf32"};
  st.SetLabel(dev == Device::CUDA ? kPathNames[p] : "cpu");
}

#if AD_WITH_CUDA
void BM_CudnnDilatedConv(benchmark::State& st) {
  const Device dev = Device::CUDA;
  const Conv1dShape s = shape_of(st);
  const int64_t pad = s.reach(), tout = s.steps + 2 * pad - s.reach();  // = T + (K-1)d
  const bool tf32 = st.range(4) != 0;
  reset_peak_memory(dev);
  cudnnHandle_t h = cudnn_handle();
  cudnnTensorDescriptor_t xd, yd, bd;
  cudnnFilterDescriptor_t fd;
  cudnnConvolutionDescriptor_t cd;
  AD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&xd));
  AD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&yd));
  AD_CUDNN_CHECK(cudnnCreateTensorDescriptor(&bd));
  AD_CUDNN_CHECK(cudnnCreateFilterDescriptor(&fd));
  AD_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&cd));
  AD_CUDNN_CHECK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, int(s.batch), int(s.cin), 1,
                                            int(s.steps)));
  AD_CUDNN_CHECK(cudnnSetFilter4dDescriptor(fd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, int(s.cout), int(s.cin), 1,
                                            int(s.ksize)));
  AD_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(cd, 0, int(pad), 1, 1, 1, int(s.dilation), CUDNN_CROSS_CORRELATION,
                                                 CUDNN_DATA_FLOAT));
  AD_CUDNN_CHECK(cudnnSetConvolutionMathType(cd, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH));
  int on, oc, oh, ow;
  AD_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(cd, xd, fd, &on, &oc, &oh, &ow));
  AD_CHECK(ow == tout && oh == 1, "bench_conv", "unexpected cuDNN output width ", ow, " (expected ", tout, ")");
  AD_CUDNN_CHECK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, on, oc, oh, ow));
  AD_CUDNN_CHECK(cudnnSetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, int(s.cout), 1, 1));

  cudnnConvolutionFwdAlgoPerf_t fp[8];
  cudnnConvolutionBwdDataAlgoPerf_t dp[8];
  cudnnConvolutionBwdFilterAlgoPerf_t wp[8];
  int n = 0;
  AD_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, xd, fd, cd, yd, 8, &n, fp));
  AD_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, fd, yd, cd, xd, 8, &n, dp));
  AD_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, xd, yd, cd, fd, 8, &n, wp));
  size_t wf = 0, wd = 0, ww = 0;
  AD_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, xd, fd, cd, yd, fp[0].algo, &wf));
  AD_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, fd, yd, cd, xd, dp[0].algo, &wd));
  AD_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, xd, yd, cd, fd, wp[0].algo, &ww));
  const size_t wsize = std::max({wf, wd, ww, size_t(16)});
  Tensor ws = Tensor::empty({int64_t(wsize)}, DType::U8, dev);

  Tensor x = filled({s.batch, s.cin, 1, s.steps}, dev, 0.5), w = filled({s.cout, s.cin, 1, s.ksize}, dev, 0.01);
  Tensor b = filled({s.cout}, dev, 0.1), y = filled({s.batch, s.cout, 1, tout}, dev, 0);
  Tensor dy = filled(y.shape(), dev, 0.2), dx = filled(x.shape(), dev, 0);
  Tensor dw = filled(w.shape(), dev, 0), db = filled(b.shape(), dev, 0);
  const float one = 1.f, zero = 0.f;
  auto pass = [&] {
    AD_CUDNN_CHECK(cudnnConvolutionForward(h, &one, xd, x.raw(), fd, w.raw(), cd, fp[0].algo, ws.raw(), wsize, &zero,
                                           yd, y.raw()));
    AD_CUDNN_CHECK(cudnnAddTensor(h, &one, bd, b.raw(), &one, yd, y.raw()));
    AD_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, fd, w.raw(), yd, dy.raw(), cd, dp[0].algo, ws.raw(), wsize,
                                                &zero, xd, dx.raw()));
    AD_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, xd, x.raw(), yd, dy.raw(), cd, wp[0].algo, ws.raw(),
                                                  wsize, &one, fd, dw.raw()));
    AD_CUDNN_CHECK(cudnnConvolutionBackwardBias(h, &one, yd, dy.raw(), &one, bd, db.raw()));
    cuda_synchronize();
  };
  pass();  // warm-up: cuDNN loads (and may compile) its kernels on first use
  for (auto _ : st) pass();
  report(st, s, dev);
  st.SetLabel(tf32 ? "tf32" : "fma");
  cudnnDestroyConvolutionDescriptor(cd);
  cudnnDestroyFilterDescriptor(fd);
  cudnnDestroyTensorDescriptor(bd);
  cudnnDestroyTensorDescriptor(yd);
  cudnnDestroyTensorDescriptor(xd);
}
#endif

void register_all() {
  const bool gpu = cuda_available();
  std::printf("bench_conv: %s\n", gpu ? ("GPU " + cuda_status()).c_str() : ("CPU reference (" + cuda_status() + ")").c_str());
  auto* ours = benchmark::RegisterBenchmark("OurDilatedConv/fwd+bwd", BM_OurDilatedConv);
  ours->ArgNames({"C", "T", "d", "B", "path"})->Unit(benchmark::kMicrosecond)->UseRealTime();
  if (gpu) ours->ArgsProduct({{16, 64, 256}, {128, 1024}, {1, 8, 64}, {8, 32}, {0, 1, 2, 3, 4}});
  else ours->ArgsProduct({{16, 64}, {128, 512}, {1, 8}, {8}, {0}});
#if AD_WITH_CUDA
  if (gpu)
    benchmark::RegisterBenchmark("CudnnDilatedConv/fwd+bwd", BM_CudnnDilatedConv)
        ->ArgNames({"C", "T", "d", "B", "tf32"})
        ->ArgsProduct({{16, 64, 256}, {128, 1024}, {1, 8, 64}, {8, 32}, {0, 1}})
        ->Unit(benchmark::kMicrosecond)
        ->UseRealTime();
#endif
}
}  // namespace

int main(int argc, char** argv) {
  ad::restart_with_cpu_environment(argv);  // OpenMP wait policy and OpenBLAS kernels (runtime/cpu_threads.h)
  benchmark::Initialize(&argc, argv);
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
