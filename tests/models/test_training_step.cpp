// The training steps of DC-VAE and AnomalyDAE as the training loops run them (models/*/network.h train_step):
// the losses they accumulate on the device equal what the loops summed on the host before (bitwise), and,
// on a device, what a step costs: no host synchronisation, no allocation through the driver after warm-up,
// one launch for the optimizer and one memset for zero-grad, and a steady launch count.
#include <gtest/gtest.h>

#include <cstring>

#include "layers/optimizer.h"
#include "models/anomalydae/graph_data.h"
#include "models/anomalydae/network.h"
#include "models/dcvae/graphed_step.h"
#include "models/dcvae/network.h"
#include "runtime/memory.h"
#include "runtime/step_graph.h"
#include "runtime/device_counters.h"
#include "runtime/staging.h"
#include "tests/support/helpers.h"

using namespace ad;

namespace {

dcvae::Settings dcvae_settings() {
  dcvae::Settings s;
  s.T = 12;
  s.M = 3;
  s.J = 2;
  s.cnn_units = {6, 5, 4};
  s.dil_rate = {1, 2, 4};
  s.kernel = 2;
  s.seed = 11;
  return s;
}

anomalydae::AttributedGraph small_graph() {
  anomalydae::SyntheticGraphSettings y;
  y.nodes = 37;
  y.attrs = 9;
  y.communities = 3;
  y.avg_degree = 4;
  y.cliques = 1;
  y.clique_size = 4;
  y.attribute_anomalies = 2;
  y.candidates = 8;
  return anomalydae::make_synthetic_graph(y, 5);
}

anomalydae::Settings anomalydae_settings() {
  anomalydae::Settings s;
  s.hidden_dim = 10;
  s.embed_dim = 6;
  s.eta = 3;
  s.theta = 5;
  return s;
}

std::string describe(const DeviceCounters& c) {
  return "launches " + std::to_string(c.launches) + ", allocations " + std::to_string(c.allocations) +
         ", host syncs " + std::to_string(c.host_syncs) + ", host-to-device " + std::to_string(c.host_to_device) +
         ", device-to-host " + std::to_string(c.device_to_host);
}

// What `work` costs on the device.
template <class F> DeviceCounters cost_of(F&& work) {
  reset_device_counters();
  work();
  return device_counters();
}

// Two warm-up steps (the caching allocator then holds every block a step needs), then the costs of the third
// and the fourth step, each alone.
template <class F> std::pair<DeviceCounters, DeviceCounters> costs_after_warm_up(F&& step) {
  step(0);
  step(1);
  DeviceCounters one = cost_of([&] { step(2); });
  return {one, cost_of([&] { step(3); })};
}

// The device the cost tests run on: the GPU when there is one, else the emulated device (test::parity_device),
// which counts at the same points.
#define REQUIRE_STEP_DEVICE() \
  do {                        \
  } while (0)
Device step_device() { return test::parity_device(); }

}  // namespace

// The step with its losses summed on the device against the loop it replaced (zero-grad, forward, loss read to
// the host, backward, Adam; LossParts summed in double on the host): same parameters, same sums, bit for bit.
TEST(DcvaeTrainStep, DeviceLossSumsEqualTheHostLoopBitwise) {
  for (const char* reduction : {"mean", "sum"}) {
    SCOPED_TRACE(reduction);
    dcvae::Settings s = dcvae_settings();
    s.loss_reduction = reduction;
    dcvae::Network a(s, Device::CPU), b(s, Device::CPU);
    Adam oa(a.parameters()), ob(b.parameters());
    PhiloxStream ra(3), rb(3);
    Tensor sums = Tensor::zeros({3}, DType::F64);
    double rec = 0, kl = 0, total = 0;
    for (int step = 0; step < 3; ++step) {
      Tensor x = test::random_tensor({5 - step, s.T, s.M}, 70 + step);  // a smaller last batch, as in an epoch
      oa.zero_grad();
      dcvae::Outputs o = a.forward(x, true, true, ra);
      dcvae::LossParts l = a.loss(x, o);
      a.backward(x, o);
      oa.step();
      rec += l.reconstruction;
      kl += l.kl;
      total += l.total;
      dcvae::train_step(b, ob, x, rb, sums);
    }
    EXPECT_EQ(sums.to_vector(), (std::vector<double>{rec, kl, total}));
    auto pa = a.parameters(), pb = b.parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(test::bitwise_equal(pa[i]->value, pb[i]->value)) << pa[i]->name;
  }
}

// The log row a step writes on the device against what the loop read before (the loss item, error means
// summed on the host in double): the loss bit for bit, the means within float rounding (summed in f32 now).
TEST(AnomalyDaeTrainStep, DeviceLogRowMatchesTheHostLoop) {
  anomalydae::AttributedGraph g = small_graph();
  anomalydae::Settings st = anomalydae_settings();
  anomalydae::GraphInputs in = anomalydae::make_inputs(g.adjacency, g.features, Tensor(), Device::CPU);
  auto cfg = anomalydae::NetworkConfig::from(st, g.attrs(), g.nodes());
  anomalydae::Network a(cfg, Device::CPU), b(cfg, Device::CPU);
  Adam oa(a.parameters()), ob(b.parameters());
  anomalydae::LossConfig lc = anomalydae::LossConfig::from(st);
  for (int step = 0; step < 3; ++step) {
    oa.zero_grad();
    anomalydae::NodeErrors e = a.forward(in, lc);
    a.backward();
    oa.step();
    double ma = 0, ms = 0;
    for (double v : e.attribute.to_vector()) ma += v;
    for (double v : e.structure.to_vector()) ms += v;
    ma /= double(g.nodes());
    ms /= double(g.nodes());
    Tensor row = Tensor::empty({3});
    anomalydae::train_step(b, ob, in, lc, row);
    std::vector<double> r = row.to_vector();
    EXPECT_EQ(r[0], e.loss.item()) << "step " << step;
    EXPECT_NEAR(r[1], ma, 1e-6 * std::abs(ma)) << "step " << step;
    EXPECT_NEAR(r[2], ms, 1e-6 * std::abs(ms)) << "step " << step;
  }
  auto pa = a.parameters(), pb = b.parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(test::bitwise_equal(pa[i]->value, pb[i]->value)) << pa[i]->name;
}

// What one DC-VAE step costs on the device, counted between two steps (after two warm-up steps, so the
// caching allocator holds every block a step needs): the batch's asynchronous upload and the step itself.
TEST(StepCost, DcvaeStepHasNoHostSyncNoAllocationAndOneOptimizerLaunch) {
  REQUIRE_STEP_DEVICE();
  const Device dev = step_device();
  dcvae::Settings s = dcvae_settings();
  dcvae::Network net(s, dev);
  Adam adam(net.parameters());
  BatchUploader uploader(dev);
  PhiloxStream rng(3);
  Tensor sums = Tensor::zeros({3}, DType::F64, dev);
  auto step = [&](int k) {
    Tensor xb = uploader.upload(test::random_tensor({4, s.T, s.M}, 90 + uint64_t(k)));
    dcvae::train_step(net, adam, xb, rng, sums);
  };
  const auto [one, two] = costs_after_warm_up(step);
  SCOPED_TRACE("one step: " + describe(one));
  std::cout << "DC-VAE step on " << device_name(dev) << ": " << describe(one) << "\n";
  EXPECT_EQ(one.host_syncs, 0);
  EXPECT_EQ(one.allocations, 0);
  EXPECT_EQ(one.device_to_host, 0);
  EXPECT_EQ(one.host_to_device, 1);  // the batch
  EXPECT_EQ(two.launches, one.launches);  // nothing depends on the step's data or count
  // The step adds exactly three launches to the network's own forward, loss and backward: the zero-grad memset,
  // the loss accumulation and the fused Adam update (before: one memset and one Adam launch per parameter).
  Tensor xb = uploader.upload(test::random_tensor({4, s.T, s.M}, 95));
  const int64_t network_launches = cost_of([&] {
                                     dcvae::Outputs o = net.forward(xb, true, true, rng);
                                     Tensor terms = net.loss_terms(xb, o);
                                     net.backward(xb, o);
                                   }).launches;
  EXPECT_EQ(one.launches, network_launches + 3);
  // The optimizer's share: one memset and one fused update, whatever the number of parameters.
  EXPECT_EQ(cost_of([&] { adam.zero_grad(); }).launches, 1);
  EXPECT_EQ(cost_of([&] { adam.step(); }).launches, 1);
  EXPECT_GT(net.parameters().size(), 20u);
  // The logging read: one copy back, one wait.
  reset_device_counters();
  std::vector<double> v = sums.to_vector();
  EXPECT_EQ(device_counters().host_syncs, 1);
  EXPECT_TRUE(std::isfinite(v[2]));
}

TEST(StepCost, AnomalyDaeStepHasNoHostSyncNoAllocationAndOneOptimizerLaunch) {
  REQUIRE_STEP_DEVICE();
  const Device dev = step_device();
  anomalydae::AttributedGraph g = small_graph();
  anomalydae::Settings st = anomalydae_settings();
  anomalydae::GraphInputs in = anomalydae::make_inputs(g.adjacency, g.features, Tensor(), dev);
  anomalydae::Network net(anomalydae::NetworkConfig::from(st, g.attrs(), g.nodes()), dev);
  Adam adam(net.parameters());
  anomalydae::LossConfig lc = anomalydae::LossConfig::from(st);
  Tensor log_rows = Tensor::zeros({4, 3}, DType::F32, dev);
  auto step = [&](int k) {
    Tensor row = log_rows.narrow0(k, 1).view({3});
    anomalydae::train_step(net, adam, in, lc, row);
  };
  const auto [one, two] = costs_after_warm_up(step);
  SCOPED_TRACE("one step: " + describe(one));
  std::cout << "AnomalyDAE step on " << device_name(dev) << ": " << describe(one) << "\n";
  EXPECT_EQ(one.host_syncs, 0);
  EXPECT_EQ(one.allocations, 0);
  EXPECT_EQ(one.device_to_host, 0);
  EXPECT_EQ(one.host_to_device, 0);  // full batch: the graph stays on the device
  EXPECT_EQ(two.launches, one.launches);
  // On top of the network's forward and backward: the zero-grad memset, the fused Adam update, and the log row
  // (one copy of the loss, two means of at most two launches each: a per-block pass and a final one).
  anomalydae::NodeErrors e;
  const int64_t network_launches =
      cost_of([&] { e = net.forward(in, lc); }).launches + cost_of([&] { net.backward(); }).launches;
  EXPECT_GE(one.launches, network_launches + 2 + 3);
  EXPECT_LE(one.launches, network_launches + 2 + 5);
  EXPECT_EQ(cost_of([&] { adam.zero_grad(); }).launches, 1);
  EXPECT_EQ(cost_of([&] { adam.step(); }).launches, 1);
  reset_device_counters();
  std::vector<double> v = log_rows.to_vector();
  EXPECT_EQ(device_counters().host_syncs, 1);
  for (double x : v) EXPECT_TRUE(std::isfinite(x));
}

// A captured step's temporaries come from a private pool: while the graph lives, no tensor allocated outside
// the capture gets one of its blocks (a replay would write into it).
TEST(StepGraph, PrivatePoolBlocksAreNotHandedOutOutsideTheCapture) {
  REQUIRE_STEP_DEVICE();
  const Device dev = step_device();
  const void* inside = nullptr;
  {
    StepGraph graph(dev);
    graph.capture([&] {
      Tensor t = Tensor::empty({1000}, DType::F32, dev);  // freed at the end of the capture
      inside = t.raw();
    });
    for (int i = 0; i < 4; ++i) {
      Tensor u = Tensor::empty({1000}, DType::F32, dev);
      EXPECT_NE(u.raw(), inside) << "a pool block was handed out while its graph lives";
    }
  }
  bool reused = false;  // the graph is gone: its blocks are the allocator's again
  std::vector<Tensor> keep;
  for (int i = 0; i < 256 && !reused; ++i) {
    keep.push_back(Tensor::empty({1000}, DType::F32, dev));
    reused = keep.back().raw() == inside;
  }
  EXPECT_TRUE(reused);
}

// Eager steps and the captured-and-replayed step give the same losses and parameters: bit for bit on the
// emulated device (the same kernels on the same data), within float reassociation on a GPU. The batches
// include a smaller one (a second captured graph) and the replays see a changing learning rate.
TEST(StepGraph, DcvaeReplayedStepsGiveTheEagerLosses) {
  REQUIRE_STEP_DEVICE();
  const Device dev = step_device();
  dcvae::Settings s = dcvae_settings();
  dcvae::Network eager_net(s, dev), graph_net(s, dev);
  Adam eager_opt(eager_net.parameters()), graph_opt(graph_net.parameters());
  BatchUploader uploader(dev);
  PhiloxStream eager_rng(3), graph_rng(3);
  Tensor eager_sums = Tensor::zeros({3}, DType::F64, dev), graph_sums = Tensor::zeros({3}, DType::F64, dev);
  dcvae::GraphedTrainStep graphed(graph_net, graph_opt, dev);
  const std::vector<int64_t> batches{4, 4, 3, 4, 4, 3, 3, 4};
  for (size_t k = 0; k < batches.size(); ++k) {
    Tensor host = test::random_tensor({batches[k], s.T, s.M}, 200 + k);
    const double lr = 1e-3 * std::pow(0.5, double(k / 3));
    eager_opt.set_lr(lr);
    graph_opt.set_lr(lr);
    dcvae::train_step(eager_net, eager_opt, uploader.upload(host), eager_rng, eager_sums);
    graphed.step(host, graph_rng, graph_sums);
    std::vector<double> e = eager_sums.to_vector(), g = graph_sums.to_vector();
    for (int i = 0; i < 3; ++i) {
      if (dev == Device::CUDA) EXPECT_NEAR(g[size_t(i)], e[size_t(i)], 1e-5 * std::abs(e[size_t(i)])) << "step " << k;
      else EXPECT_EQ(g[size_t(i)], e[size_t(i)]) << "step " << k << " term " << i;
    }
  }
  EXPECT_EQ(graphed.captures(), 2);  // batch sizes 4 and 3
  EXPECT_EQ(graphed.replays(), 6);   // all but the first step of each size
  auto pe = eager_net.parameters(), pg = graph_net.parameters();
  for (size_t i = 0; i < pe.size(); ++i)
    if (dev == Device::CUDA) EXPECT_TRUE(test::all_close(pg[i]->value, pe[i]->value, 1e-6, 1e-5)) << pe[i]->name;
    else EXPECT_TRUE(test::bitwise_equal(pg[i]->value, pe[i]->value)) << pe[i]->name;
  // A replayed step: one graph launch, the three uploads (batch, Adam's scalars, the noise offset), no wait.
  Tensor host = test::random_tensor({4, s.T, s.M}, 300);
  reset_device_counters();
  graphed.step(host, graph_rng, graph_sums);
  DeviceCounters c = device_counters();
  std::cout << "DC-VAE replayed step on " << device_name(dev) << ": " << describe(c) << "\n";
  EXPECT_EQ(c.launches, 1);
  EXPECT_EQ(c.host_syncs, 0);
  EXPECT_EQ(c.allocations, 0);
  EXPECT_EQ(c.host_to_device, 3);
}
