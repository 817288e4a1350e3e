#include <gtest/gtest.h>

#include <random>

#include "kernels/embedding.cuh"
#include "layers/embedding.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
// Ids with repeats and gaps (some ids never used), drawn from a fixed seed.
Tensor random_ids(const Shape& shape, int64_t vocab, uint64_t seed) {
  Tensor ids = Tensor::empty(shape, DType::I32);
  std::mt19937_64 gen(seed);
  for (int64_t i = 0; i < ids.numel(); ++i) ids.data<int32_t>()[i] = int32_t(gen() % uint64_t((vocab + 1) / 2) * 2 % vocab);
  return ids;
}
}  // namespace

TEST(Embedding, GroupsAreAStableCountingSort) {
  const int32_t ids[] = {3, 0, 3, 5, 0, 3};
  EmbeddingGroups g = group_embedding_ids(ids, 6, 7);
  EXPECT_EQ(g.rows, (std::vector<int32_t>{0, 3, 5}));
  EXPECT_EQ(g.offsets, (std::vector<int32_t>{0, 2, 5, 6}));
  EXPECT_EQ(g.positions, (std::vector<int32_t>{1, 4, 0, 2, 5, 3}));
  const int32_t bad[] = {1, 7};
  EXPECT_TRUE(test::error_contains([&] { group_embedding_ids(bad, 2, 7); }, "id 7 at position 1"));
}

TEST(EmulatedEmbedding, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    for (auto [n, vocab, dim] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1}, {37, 11, 129}, {257, 40, 150}, {60, 3, 33}}) {
      SCOPED_TRACE("n=" + std::to_string(n) + " vocab=" + std::to_string(vocab) + " dim=" + std::to_string(dim));
      Tensor ids = random_ids({n}, vocab, 3), weight = test::random_tensor({vocab, dim}, 4);
      Tensor dout = test::random_tensor({n, dim}, 5);
      Tensor out = Tensor::empty({n, dim}), dw = Tensor::full({vocab, dim}, 0.5);
      embedding_forward(ids, weight, out);
      embedding_backward(ids, dout, dw);

      test::GuardedBuffer gw(weight), gout{size_t(n * dim)}, gdout(dout), gdw{size_t(vocab * dim), 0.5f};
      EmulatedLauncher l;
      test::RegisteredMemory r_ids(ids, "ids");
      launch_embedding_forward(l, ids.data<int32_t>(), gw.data(), gout.data(), n, dim);
      EmbeddingGroups g = group_embedding_ids(ids.data<int32_t>(), n, vocab);
      test::RegisteredMemory r_rows(g.rows.data(), g.rows.size() * 4, "rows"),
          r_offsets(g.offsets.data(), g.offsets.size() * 4, "offsets"),
          r_positions(g.positions.data(), g.positions.size() * 4, "positions");
      launch_embedding_backward(l, g.rows.data(), g.offsets.data(), g.positions.data(), int64_t(g.rows.size()),
                                gdout.data(), gdw.data(), dim);
      // Same additions in the same order: equal bits, not merely close.
      EXPECT_TRUE(test::all_close(gout.tensor({n, dim}), out, 0, 0));
      EXPECT_TRUE(test::all_close(gdw.tensor({vocab, dim}), dw, 0, 0));
      EXPECT_TRUE(gout.check_canaries());
      EXPECT_TRUE(gdw.check_canaries());
    }
  });
}

TEST(Embedding, RejectsIdsOutsideTheVocabulary) {
  Tensor ids = Tensor::from_vector({0, 4}, {2}, DType::I32), w = Tensor::zeros({4, 3}), out = Tensor::empty({2, 3});
  EXPECT_TRUE(test::error_contains([&] { embedding_forward(ids, w, out); }, "id 4 at position 1 is outside [0, 4)"));
}

TEST(GradCheckEmbedding, LayerBackwardMatchesDifferences) {
  Embedding layer("emb", 6, 5, 3, Device::CPU, DType::F64);
  Tensor ids = random_ids({4, 7}, 6, 9);
  AD_EXPECT_GRADCHECK(test::grad_check(
      {}, layer.parameters(), [&] { return layer.forward(ids); },
      [&](const Tensor& dout) {
        layer.backward(dout);
        return std::vector<Tensor>{};
      }));
}

TEST(GpuParityEmbedding, MatchesCpuReferenceBitForBit) {
  const Device G = test::parity_device();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  const int64_t n = 1200, vocab = 97, dim = 150;
  Tensor ids = random_ids({60, 20}, vocab, seed), weight = test::random_tensor({vocab, dim}, seed + 1);
  Tensor dout = test::random_tensor({60, 20, dim}, seed + 2);
  Tensor out = Tensor::empty({60, 20, dim}), dw = Tensor::zeros({vocab, dim});
  embedding_forward(ids, weight, out);
  embedding_backward(ids, dout, dw);
  Tensor gw = weight.to(G), gout = Tensor::empty({60, 20, dim}, DType::F32, G);
  Tensor gdw = Tensor::zeros({vocab, dim}, DType::F32, G), gdout = dout.to(G);
  embedding_forward(ids, gw, gout);
  embedding_backward(ids, gdout, gdw);
  EXPECT_TRUE(test::all_close(gout, out, 0, 0));
  EXPECT_TRUE(test::all_close(gdw, dw, 0, 0));
  (void)n;
}
