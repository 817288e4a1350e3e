// Recurrent layer (layers/recurrent.*) and its cell kernels (kernels/recurrent_cell.*): emulated cell kernels
// vs the CPU reference, gradient checks through time (inputs, parameters, initial state), the golden
// comparison with torch.nn.LSTM / torch.nn.GRU (tools/reference/recurrent_reference.py), GPU parity.
#include <gtest/gtest.h>

#include "kernels/recurrent_cell.cuh"
#include "layers/recurrent.h"
#include "runtime/npy.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {
const RecurrentCell kCells[] = {RecurrentCell::LSTM, RecurrentCell::GRU};

// Concatenates flattened tensors (the gradient checker probes one output tensor).
Tensor concat(const std::vector<Tensor>& parts) {
  int64_t n = 0;
  for (const Tensor& p : parts) n += p.numel();
  Tensor out = Tensor::empty({n}, parts[0].dtype());
  int64_t at = 0;
  for (const Tensor& p : parts) {
    out.narrow0(at, p.numel()).copy_from(p.view({p.numel()}));
    at += p.numel();
  }
  return out;
}
}  // namespace

TEST(EmulatedRecurrentCell, ForwardAndBackwardMatchCpuReference) {
  test::for_each_schedule([&] {
    struct Case {
      int64_t B, Hd;
      bool with_input;
    };
    for (RecurrentCell cell : kCells)
      for (Case s : {Case{1, 1, true}, Case{3, 7, true}, Case{5, 67, true}, Case{4, 30, false}}) {
        SCOPED_TRACE(std::string(recurrent_cell_name(cell)) + " B=" + std::to_string(s.B) + " Hd=" +
                     std::to_string(s.Hd) + (s.with_input ? "" : " no input"));
        const int64_t G = recurrent_gates(cell), B = s.B, Hd = s.Hd;
        Tensor gx = s.with_input ? test::random_tensor({B, G * Hd}, 1, -2, 2) : Tensor();
        Tensor gh = test::random_tensor({B, G * Hd}, 2, -2, 2), bi = test::random_tensor({G * Hd}, 3);
        Tensor bh = test::random_tensor({G * Hd}, 4), hp = test::random_tensor({B, Hd}, 5), cp = test::random_tensor({B, Hd}, 6);
        Tensor h = Tensor::empty({B, Hd}), c = Tensor::empty({B, Hd}), saved = Tensor::empty({B, 4 * Hd});
        recurrent_cell_forward(cell, gx, gh, bi, bh, hp, cp, h, c, saved);
        Tensor dout = test::random_tensor({B, Hd}, 7), dh = test::random_tensor({B, Hd}, 8), dc = test::random_tensor({B, Hd}, 9);
        Tensor dgx = Tensor::empty({B, G * Hd}), dgh = Tensor::empty({B, G * Hd});
        test::GuardedBuffer gdh(dh), gdc(dc);  // in/out: copies of the inputs before the reference runs
        recurrent_cell_backward(cell, saved, hp, cp, c, dout, dh, dc, dgx, dgh);

        test::GuardedBuffer ggh(gh), gbi(bi), gbh(bh), ghp(hp), gcp(cp), gh_out{size_t(B * Hd)}, gc{size_t(B * Hd)},
            gsaved{size_t(B * 4 * Hd)}, gdout(dout), gdgx{size_t(B * G * Hd)}, gdgh{size_t(B * G * Hd)};
        test::GuardedBuffer ggx = s.with_input ? test::GuardedBuffer(gx) : test::GuardedBuffer(1);
        EmulatedLauncher l;
        launch_recurrent_cell_forward(l, cell, s.with_input ? ggx.data() : nullptr, ggh.data(), gbi.data(), gbh.data(),
                                      ghp.data(), gcp.data(), gh_out.data(), gc.data(), gsaved.data(), B, Hd);
        launch_recurrent_cell_backward(l, cell, gsaved.data(), ghp.data(), gcp.data(), gc.data(), gdout.data(),
                                       gdh.data(), gdc.data(), gdgx.data(), gdgh.data(), B, Hd);
        EXPECT_TRUE(test::all_close(gh_out.tensor({B, Hd}), h, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gsaved.tensor({B, 4 * Hd}), saved, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gdgx.tensor({B, G * Hd}), dgx, 1e-6, 1e-5));
        EXPECT_TRUE(test::all_close(gdh.tensor({B, Hd}), dh, 1e-6, 1e-5));
        if (cell == RecurrentCell::LSTM) {
          EXPECT_TRUE(test::all_close(gc.tensor({B, Hd}), c, 1e-6, 1e-5));
          EXPECT_TRUE(test::all_close(gdc.tensor({B, Hd}), dc, 1e-6, 1e-5));
        } else {
          EXPECT_TRUE(test::all_close(gdgh.tensor({B, G * Hd}), dgh, 1e-6, 1e-5));
        }
        for (auto* g : {&gh_out, &gc, &gsaved, &gdgx, &gdgh, &gdh, &gdc}) EXPECT_TRUE(g->check_canaries());
      }
  });
}

TEST(GradCheckRecurrent, InputsParametersAndInitialState) {
  for (RecurrentCell cell : kCells) {
    SCOPED_TRACE(recurrent_cell_name(cell));
    const bool lstm = cell == RecurrentCell::LSTM;
    const int64_t T = 4, B = 3, I = 5, Hd = 6;
    Recurrent layer("rnn", cell, I, Hd, 11, Device::CPU, DType::F64);
    Tensor x = test::random_tensor({T, B, I}, 12, -1, 1, DType::F64);
    Tensor h0 = test::random_tensor({B, Hd}, 13, -1, 1, DType::F64), c0 = test::random_tensor({B, Hd}, 14, -1, 1, DType::F64);
    // Output: all step outputs, then the final h and (LSTM) c, so both gradient paths are checked.
    auto forward = [&] {
      Tensor out = layer.forward(x, {h0, lstm ? c0 : Tensor()});
      RecurrentState fin = layer.final_state();
      return lstm ? concat({out, fin.h, fin.c}) : concat({out, fin.h});
    };
    auto backward = [&](const Tensor& r) {
      const int64_t n = T * B * Hd;
      Tensor dx = layer.backward(r.narrow0(0, n).view({T, B, Hd}),
                                 {r.narrow0(n, B * Hd), lstm ? r.narrow0(n + B * Hd, B * Hd) : Tensor()});
      std::vector<Tensor> grads{dx, layer.initial_state_grad().h};
      if (lstm) grads.push_back(layer.initial_state_grad().c);
      return grads;
    };
    std::vector<Tensor> inputs{x, h0};
    if (lstm) inputs.push_back(c0);
    AD_EXPECT_GRADCHECK(test::grad_check(inputs, layer.parameters(), forward, backward));
  }
}

TEST(GradCheckRecurrent, WithoutInputFromAGivenState) {
  for (RecurrentCell cell : kCells) {
    SCOPED_TRACE(recurrent_cell_name(cell));
    const bool lstm = cell == RecurrentCell::LSTM;
    const int64_t T = 5, B = 2, Hd = 4;
    Recurrent layer("dec", cell, 0, Hd, 21, Device::CPU, DType::F64);
    EXPECT_EQ(layer.parameters().size(), 3u);  // no weight_ih
    Tensor h0 = test::random_tensor({B, Hd}, 22, -1, 1, DType::F64), c0 = test::random_tensor({B, Hd}, 23, -1, 1, DType::F64);
    auto forward = [&] { return layer.forward_without_input(T, B, {h0, lstm ? c0 : Tensor()}); };
    auto backward = [&](const Tensor& r) {
      EXPECT_FALSE(layer.backward(r).defined());
      std::vector<Tensor> grads{layer.initial_state_grad().h};
      if (lstm) grads.push_back(layer.initial_state_grad().c);
      return grads;
    };
    std::vector<Tensor> inputs{h0};
    if (lstm) inputs.push_back(c0);
    AD_EXPECT_GRADCHECK(test::grad_check(inputs, layer.parameters(), forward, backward));
  }
}

TEST(GoldenRecurrent, MatchesTorchLstmAndGru) {
  const std::string dir = test::source_dir() + "/tests/golden/recurrent/";
  for (RecurrentCell cell : kCells) {
    const std::string name = recurrent_cell_name(cell);
    SCOPED_TRACE(name);
    const bool lstm = cell == RecurrentCell::LSTM;
    auto golden = [&](const std::string& what) { return load_npy(dir + name + "." + what + ".npy"); };
    Tensor x = golden("x");
    const int64_t T = x.size(0), B = x.size(1), I = x.size(2);
    Tensor h0 = golden("h0");
    const int64_t Hd = h0.size(1);
    Recurrent layer("rnn", cell, int(I), int(Hd), 1, Device::CPU, DType::F64);
    for (Parameter* p : layer.parameters()) {
      const std::string leaf = p->name.substr(p->name.rfind('.') + 1);
      p->value.copy_from(golden("param." + leaf));
    }
    Tensor c0 = lstm ? golden("c0") : Tensor();
    Tensor out = layer.forward(x, {h0, c0});
    EXPECT_TRUE(test::all_close(out, golden("out"), 1e-12, 1e-10));
    EXPECT_TRUE(test::all_close(layer.final_state().h, golden("h_T"), 1e-12, 1e-10));
    if (lstm) EXPECT_TRUE(test::all_close(layer.final_state().c, golden("c_T"), 1e-12, 1e-10));
    Tensor dx = layer.backward(golden("r_out"), {golden("r_h"), lstm ? golden("r_c") : Tensor()});
    EXPECT_TRUE(test::all_close(dx, golden("dx"), 1e-12, 1e-10));
    EXPECT_TRUE(test::all_close(layer.initial_state_grad().h, golden("dh0"), 1e-12, 1e-10));
    if (lstm) EXPECT_TRUE(test::all_close(layer.initial_state_grad().c, golden("dc0"), 1e-12, 1e-10));
    for (Parameter* p : layer.parameters()) {
      const std::string leaf = p->name.substr(p->name.rfind('.') + 1);
      EXPECT_TRUE(test::all_close(p->grad, golden("grad." + leaf), 1e-12, 1e-10)) << leaf;
    }
    (void)T;
  }
}

TEST(Recurrent, RejectsBadShapes) {
  Recurrent layer("rnn", RecurrentCell::GRU, 7, 4, 1);
  EXPECT_TRUE(test::error_contains([&] { layer.forward(Tensor::zeros({3, 2, 6})); }, "expected x [T, B, 7]"));
  EXPECT_TRUE(test::error_contains([&] { layer.forward(Tensor::zeros({3, 2, 7}), {Tensor::zeros({5, 4})}); },
                                   "initial h must be"));
  EXPECT_TRUE(test::error_contains([&] { layer.backward(Tensor()); }, "backward before forward"));
  EXPECT_TRUE(test::error_contains([] { parse_recurrent_cell("rnn"); }, "unknown cell"));
}

TEST(GpuParityRecurrent, LayerMatchesCpu) {
  const Device G = test::parity_device();
  const uint64_t seed = test::fresh_seed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  for (RecurrentCell cell : kCells) {
    const int64_t T = 9, B = 37, I = 7, Hd = 64;
    Recurrent cpu_layer("rnn", cell, I, Hd, seed), gpu_layer("rnn", cell, I, Hd, seed, G);
    Tensor x = test::random_tensor({T, B, I}, seed + 1), dout = test::random_tensor({T, B, Hd}, seed + 2);
    Tensor out = cpu_layer.forward(x);
    Tensor dx = cpu_layer.backward(dout);
    Tensor gout = gpu_layer.forward(x.to(G));
    Tensor gdx = gpu_layer.backward(dout.to(G));
    EXPECT_TRUE(test::all_close(gout, out, 1e-5, 1e-4)) << recurrent_cell_name(cell);
    EXPECT_TRUE(test::all_close(gdx, dx, 1e-5, 1e-4)) << recurrent_cell_name(cell);
    auto cp = cpu_layer.parameters(), gp = gpu_layer.parameters();
    for (size_t i = 0; i < cp.size(); ++i) EXPECT_TRUE(test::all_close(gp[i]->grad, cp[i]->grad, 1e-4, 1e-4)) << cp[i]->name;
  }
}
