#include "layers/recurrent.h"

#include <cmath>
#include <random>
#include <vector>

#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace ad {

namespace {
// Step t of a [T, rows, cols] tensor, as a [rows, cols] view.
Tensor step(const Tensor& t3, int64_t t) { return t3.narrow0(t, 1).view({t3.size(1), t3.size(2)}); }
Tensor flat(const Tensor& t3) { return t3.view({t3.size(0) * t3.size(1), t3.size(2)}); }
}  // namespace

Recurrent::Recurrent(std::string name, RecurrentCell cell, int input_size, int hidden, uint64_t seed, Device device,
                     DType dtype)
    : name_(std::move(name)), cell_(cell), in_(input_size), hidden_(hidden) {
  AD_CHECK(input_size >= 0 && hidden > 0, "Recurrent", name_, ": sizes must be positive, got input=", input_size,
           " hidden=", hidden);
  const int64_t gates = int64_t(recurrent_gates(cell)) * hidden;
  std::mt19937_64 gen(seed);
  const double limit = 1.0 / std::sqrt(double(hidden));
  std::uniform_real_distribution<double> dist(-limit, limit);
  auto uniform = [&](const Shape& shape) {
    std::vector<double> v(size_t(shape.numel()));
    for (double& e : v) e = dist(gen);
    Tensor t = Tensor::from_vector(v, shape, dtype);
    return device == Device::CPU ? t : t.to(device);
  };
  // PyTorch's order of drawing: weight_ih, weight_hh, bias_ih, bias_hh.
  if (input_size > 0) weight_ih_ = Parameter("weight_ih", uniform({gates, input_size}));
  weight_hh_ = Parameter("weight_hh", uniform({gates, hidden}));
  bias_ih_ = Parameter("bias_ih", uniform({gates}));
  bias_hh_ = Parameter("bias_hh", uniform({gates}));
}

void Recurrent::collect_parameters(const std::string& prefix, std::vector<Parameter*>& out) {
  const std::string base = join_name(prefix, name_);
  for (Parameter* p : {&weight_ih_, &weight_hh_, &bias_ih_, &bias_hh_}) {
    if (!p->value.defined()) continue;
    const std::string leaf = p->name.substr(p->name.rfind('.') + 1);
    p->name = join_name(base, leaf);
    out.push_back(p);
  }
}

Tensor Recurrent::forward(const Tensor& x, const RecurrentState& initial) {
  AD_CHECK(in_ > 0, "Recurrent::forward", name_, ": a layer without input runs with forward_without_input");
  AD_CHECK(x.dim() == 3 && x.size(2) == in_, "Recurrent::forward", name_, ": expected x [T, B, ", in_, "], got ",
           x.describe());
  return run(x, x.size(0), x.size(1), initial);
}

Tensor Recurrent::forward_without_input(int64_t steps, int64_t batch, const RecurrentState& initial) {
  AD_CHECK(in_ == 0, "Recurrent::forward_without_input", name_, ": the layer has ", in_, " inputs");
  return run(Tensor(), steps, batch, initial);
}

Tensor Recurrent::run(const Tensor& x, int64_t steps, int64_t batch, const RecurrentState& initial) {
  const char* op = "Recurrent::forward";
  AD_CHECK(steps > 0 && batch > 0, op, name_, ": empty sequence (T=", steps, ", B=", batch, ")");
  const bool lstm = cell_ == RecurrentCell::LSTM;
  const DType dt = weight_hh_.value.dtype();
  const Device dev = weight_hh_.value.device();
  const int64_t Hd = hidden_, G = recurrent_gates(cell_);
  for (const Tensor* s : {&initial.h, &initial.c})  // checked before any state is replaced
    AD_CHECK(!s->defined() || s->numel() == batch * Hd, op, name_, ": initial ", s == &initial.h ? "h" : "c",
             " must be [", batch, ", ", Hd, "], got ", s->describe());
  steps_ = steps;
  batch_ = batch;
  x_ = x;
  hs_ = Tensor::empty({steps + 1, batch, Hd}, dt, dev);
  cs_ = lstm ? Tensor::empty({steps + 1, batch, Hd}, dt, dev) : Tensor();
  saved_ = Tensor::empty({steps, batch, 4 * Hd}, dt, dev);
  auto set_initial = [&](const Tensor& dst3, const Tensor& src) {
    Tensor dst = step(dst3, 0);
    if (src.defined())
      dst.copy_from(src.view({batch, Hd}));
    else
      dst.zero_();
  };
  set_initial(hs_, initial.h);
  if (lstm) set_initial(cs_, initial.c);

  Tensor gx;
  if (x.defined()) {
    gx = Tensor::empty({steps, batch, G * Hd}, dt, dev);
    Tensor gx_flat = flat(gx);
    gemm(false, true, 1.0, flat(x), weight_ih_.value, 0.0, gx_flat);
  }
  Tensor gh = Tensor::empty({batch, G * Hd}, dt, dev);
  for (int64_t t = 0; t < steps; ++t) {
    gemm(false, true, 1.0, step(hs_, t), weight_hh_.value, 0.0, gh);
    Tensor h = step(hs_, t + 1), c = lstm ? step(cs_, t + 1) : Tensor(), saved = step(saved_, t);
    recurrent_cell_forward(cell_, gx.defined() ? step(gx, t) : Tensor(), gh, bias_ih_.value, bias_hh_.value,
                           step(hs_, t), lstm ? step(cs_, t) : Tensor(), h, c, saved);
  }
  return hs_.narrow0(1, steps);
}

RecurrentState Recurrent::final_state() const {
  AD_CHECK(hs_.defined(), "Recurrent::final_state", name_, ": no forward yet");
  return {step(hs_, steps_), cs_.defined() ? step(cs_, steps_) : Tensor()};
}

Tensor Recurrent::backward(const Tensor& dout, const RecurrentState& dfinal, bool input_grad) {
  const char* op = "Recurrent::backward";
  AD_CHECK(hs_.defined(), op, name_, ": backward before forward");
  const bool lstm = cell_ == RecurrentCell::LSTM;
  const DType dt = hs_.dtype();
  const Device dev = hs_.device();
  const int64_t T = steps_, B = batch_, Hd = hidden_, G = recurrent_gates(cell_);
  if (dout.defined())
    AD_CHECK(dout.numel() == T * B * Hd, op, name_, ": dout must be [", T, ", ", B, ", ", Hd, "], got ",
             dout.describe());
  auto start_from = [&](const Tensor& g, const char* what) {
    Tensor t = Tensor::zeros({B, Hd}, dt, dev);
    if (g.defined()) {
      AD_CHECK(g.numel() == B * Hd, op, name_, ": final-state gradient ", what, " must be [", B, ", ", Hd,
               "], got ", g.describe());
      t.copy_from(g.view({B, Hd}));
    }
    return t;
  };
  Tensor dh = start_from(dfinal.h, "h");
  Tensor dc = lstm ? start_from(dfinal.c, "c") : Tensor();
  Tensor dout3 = dout.defined() ? dout.view({T, B, Hd}) : Tensor();

  // Pre-activation gradients of every step; the LSTM's serve both projections, the GRU's differ (n block).
  Tensor dgx = Tensor::empty({T, B, G * Hd}, dt, dev);
  Tensor dgh = lstm ? dgx : Tensor::empty({T, B, G * Hd}, dt, dev);
  for (int64_t t = T - 1; t >= 0; --t) {
    Tensor dgx_t = step(dgx, t), dgh_t = lstm ? Tensor() : step(dgh, t);
    recurrent_cell_backward(cell_, step(saved_, t), step(hs_, t), lstm ? step(cs_, t) : Tensor(),
                            lstm ? step(cs_, t + 1) : Tensor(), dout3.defined() ? step(dout3, t) : Tensor(), dh, dc,
                            dgx_t, dgh_t);
    // dL/dh_{t-1} = (GRU: z * dh, left in dh by the cell) + dgh_t W_hh.
    gemm(false, false, 1.0, lstm ? dgx_t : dgh_t, weight_hh_.value, lstm ? 0.0 : 1.0, dh);
  }
  dinitial_ = {dh, dc};

  gemm(true, false, 1.0, flat(dgh), flat(hs_.narrow0(0, T)), 1.0, weight_hh_.grad);
  add_bias_rows_backward(flat(dgh), bias_hh_.grad, /*accumulate=*/true);
  add_bias_rows_backward(flat(dgx), bias_ih_.grad, /*accumulate=*/true);
  if (!x_.defined()) return Tensor();
  gemm(true, false, 1.0, flat(dgx), flat(x_), 1.0, weight_ih_.grad);
  if (!input_grad) return Tensor();
  Tensor dx = Tensor::empty({T, B, in_}, dt, dev);
  Tensor dx_flat = flat(dx);
  gemm(false, false, 1.0, flat(dgx), weight_ih_.value, 0.0, dx_flat);
  return dx;
}

}  // namespace ad
