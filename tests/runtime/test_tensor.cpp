#include <gtest/gtest.h>

#include "runtime/memory.h"
#include "runtime/philox.h"
#include "runtime/tensor.h"
#include "tests/support/helpers.h"

using namespace ad;

TEST(Tensor, ShapeViewsAndCopies) {
  Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5}, {3, 2});
  EXPECT_EQ(t.describe(), "f32[3,2]@cpu");
  Tensor rows = t.narrow0(1, 2);
  EXPECT_EQ(rows.shape(), Shape({2, 2}));
  EXPECT_EQ(rows.to_vector(), (std::vector<double>{2, 3, 4, 5}));
  rows.data<float>()[0] = 42;  // a view shares storage
  EXPECT_EQ(t.to_vector()[2], 42);
  Tensor c = t.clone();
  c.data<float>()[0] = -1;  // a clone does not
  EXPECT_EQ(t.to_vector()[0], 0);
  EXPECT_EQ(t.view({6}).shape(), Shape({6}));
  EXPECT_EQ(t.to_dtype(DType::F64).dtype(), DType::F64);
}

TEST(Tensor, ErrorsNameTheOpAndShapes) {
  Tensor t = Tensor::zeros({3, 2});
  try {
    t.view({4});
    FAIL() << "view to a wrong size must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f32[3,2]@cpu"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Tensor::view"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.narrow0(2, 2), Error);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(Shape({1, 2, 3, 4, 5, 6}), Error);
}

TEST(Tensor, CpuMemoryCountersTrackPeak) {
  reset_peak_memory(Device::CPU);
  size_t before = memory_stats(Device::CPU).current;
  {
    Tensor big = Tensor::empty({1000, 1000});
    EXPECT_GE(memory_stats(Device::CPU).current, before + 4000000);
  }
  EXPECT_EQ(memory_stats(Device::CPU).current, before);
  EXPECT_GE(memory_stats(Device::CPU).peak, before + 4000000);
}

TEST(Tensor, CudaTensorWithoutGpuIsAClearError) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present; this checks the no-GPU message";
  try {
    Tensor::empty({2}, DType::F32, Device::CUDA);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("CUDA"), std::string::npos) << e.what();
  }
}

TEST(GpuParityTensor, RoundTripAndCachingAllocator) {
  const Device G = test::parity_device();
  Tensor a = test::random_tensor({17, 5}, test::fresh_seed());
  Tensor g = a.to(G);
  EXPECT_EQ(g.device(), G);
  EXPECT_TRUE(g.is_device());
  EXPECT_TRUE(test::all_close(g.to(Device::CPU), a, 0, 0));
  Tensor z = Tensor::zeros({33}, DType::F32, G);
  for (double v : z.to_vector()) EXPECT_EQ(v, 0.0);
  reset_peak_memory(G);
  size_t cur = memory_stats(G).current;
  { Tensor big = Tensor::empty({1 << 20}, DType::F32, G); }
  MemoryStats s = memory_stats(G);
  EXPECT_EQ(s.current, cur);
  EXPECT_GE(s.peak, cur + (4u << 20));
  EXPECT_GE(s.reserved, s.peak);  // the freed block stays cached
}

// Known-answer test: the Random123 reference vector for Philox-4x32-10 with counter 0 and key 0.
TEST(Philox, MatchesRandom123KnownAnswer) {
  Philox4 r = philox4x32_10(0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
}

TEST(Philox, NormalsHaveUnitMomentsAndStreamsDoNotOverlap) {
  PhiloxStream s(42);
  uint64_t o1 = s.reserve(100000), o2 = s.reserve(10);
  EXPECT_EQ(o2, o1 + 100000);
  double m = 0, v = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    double z = philox_normal(42, o1, i);
    m += z;
    v += z * z;
  }
  m /= n;
  v = v / n - m * m;
  EXPECT_NEAR(m, 0.0, 0.02);
  EXPECT_NEAR(v, 1.0, 0.02);
  for (int i = 0; i < 1000; ++i) {
    float u = philox_uniform(7, 0, i);
    EXPECT_GT(u, 0.0f);
    EXPECT_LT(u, 1.0f);
  }
}
