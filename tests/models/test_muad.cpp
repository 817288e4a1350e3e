// MUAD: the network against an independent PyTorch reference (tools/reference/muad_reference.py ->
// tests/golden/muad/<case>/: same inputs, parameters and Philox eps; outputs, loss terms and every parameter
// gradient), a directional-derivative check of the whole hand-written backward, the synthetic generator,
// the chunk files and the bad inputs the issue lists.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/muad/data.h"
#include "models/muad/muad.h"
#include "models/muad/network.h"
#include "runtime/npy.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::muad;

namespace {

std::string golden_dir(const std::string& c) { return test::source_dir() + "/tests/golden/muad/" + c; }

// test::all_close with the absolute tolerance relative to the reference's largest magnitude, floored:
// gradients that are exactly zero in exact arithmetic (the pooling gate's bias: a softmax does not see a
// shift) come out as f32 rounding noise.
::testing::AssertionResult close(const std::string& what, const Tensor& a, const Tensor& b, double rtol,
                                 double atol_rel) {
  double scale = 0;
  for (double v : b.to_vector()) scale = std::max(scale, std::abs(v));
  ::testing::AssertionResult r = test::all_close(a, b, std::max(atol_rel * scale, 1e-7), rtol);
  if (!r) r << " (" << what << ")";
  return r;
}

struct Golden {
  nlohmann::json m;
  NetworkConfig cfg;
  Batch batch;
  std::vector<std::pair<int, int>> edges;
};

Golden load_golden(const std::string& name) {
  Golden g;
  std::ifstream f(golden_dir(name) + "/manifest.json");
  EXPECT_TRUE(f.good()) << "missing manifest (run tools/reference/muad_reference.py)";
  g.m = nlohmann::json::parse(f);
  g.cfg.services = g.m["services"];
  g.cfg.steps = g.m["steps"];
  g.cfg.metric_channels = g.m["metric_channels"];
  g.cfg.log_templates = g.m["log_templates"];
  g.cfg.hidden = g.m["hidden"];
  g.cfg.heads = g.m["heads"];
  g.cfg.negative_slope = g.m["slope"];
  g.cfg.sum_fusion = g.m["fusion"] == "sum";
  g.cfg.variance = g.m["variance"] == "official" ? VarianceForm::OfficialMuad : VarianceForm::LogVar;
  g.cfg.sigmoid_variance = g.m["sigmoid_variance"];
  g.cfg.lambda_conf = g.m["lambda_conf"];
  g.cfg.lambda_kl = g.m["lambda_kl"];
  for (auto& e : g.m["edges"]) g.edges.emplace_back(int(e[0]), int(e[1]));
  const std::string d = golden_dir(name);
  g.batch.size = g.m["batch"];
  g.batch.metrics = load_npy(d + "/metrics.npy");
  g.batch.traces = load_npy(d + "/traces.npy");
  g.batch.logs = load_npy(d + "/logs.npy");
  for (auto& y : g.m["y"]) g.batch.y.push_back(int(y));
  return g;
}

void run_golden(const std::string& name) {
  SCOPED_TRACE(name);
  Golden g = load_golden(name);
  Network net(g.cfg);
  std::vector<Parameter*> params = net.parameters();
  const auto names = g.m["params"].get<std::vector<std::string>>();
  ASSERT_EQ(params.size(), names.size());
  for (size_t i = 0; i < params.size(); ++i) {
    ASSERT_EQ(params[i]->name, names[i]);
    params[i]->value.copy_from(load_npy(golden_dir(name) + "/param." + names[i] + ".npy"));
  }
  BatchGraph bg = BatchGraph::build(g.cfg.services, g.edges, g.batch.size);
  Output o = net.forward(g.batch, bg, true, g.m["seed"], g.m["offset"], true);
  const auto& t = g.m["terms"];
  EXPECT_NEAR(o.loss, double(t["loss"]), 2e-4 * std::abs(double(t["loss"])));
  EXPECT_NEAR(o.ce, double(t["ce"]), 2e-4);
  EXPECT_NEAR(o.tcp, double(t["tcp"]), 2e-4);
  EXPECT_NEAR(o.kl, double(t["kl"]), 2e-4);
  EXPECT_NEAR(o.fused_mse, double(t["fused_mse"]), 2e-4);
  const std::string d = golden_dir(name);
  EXPECT_TRUE(close("logits", net.logits(), load_npy(d + "/out.logits.npy"), 1e-4, 1e-4));
  const char* mods[] = {"trace", "metric", "log"};
  for (int v = 0; v < 3; ++v) {
    EXPECT_TRUE(close(std::string("z_") + mods[v], net.modality(v).z, load_npy(d + "/out.z_" + mods[v] + ".npy"),
                      1e-4, 1e-4));
    EXPECT_TRUE(close(std::string("c_") + mods[v], net.modality(v).c, load_npy(d + "/out.c_" + mods[v] + ".npy"),
                      1e-4, 1e-4));
  }
  net.zero_grad();
  net.backward();
  for (size_t i = 0; i < params.size(); ++i)
    EXPECT_TRUE(close("grad " + names[i], params[i]->grad, load_npy(d + "/grad." + names[i] + ".npy"), 2e-3, 2e-4));
}

// The SocialNetwork graph shape: 12 services, self loops, some nodes without self loops.
ServiceGraph small_graph() {
  ServiceGraph g;
  for (int i = 0; i < 6; ++i) g.services.push_back("svc" + std::to_string(i));
  g.edges = {{5, 0}, {5, 1}, {0, 1}, {0, 2}, {1, 3}, {1, 4}, {0, 0}, {1, 1}, {5, 5}};
  return g;
}

std::string temp_dir(const std::string& name) {
  const std::string d = std::filesystem::temp_directory_path().string() + "/muad_test_" + name + "_" +
                        std::to_string(::getpid());
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace

TEST(GoldenMuad, ConcatFusionLogVariance) { run_golden("concat_logvar"); }
TEST(GoldenMuad, SumFusionOfficialVariance) { run_golden("sum_official"); }

// The whole backward against central differences of the f32 loss along one random direction over every
// parameter (a gradient check of the network's own forward; the golden test checks that forward).
TEST(GradCheckMuad, DirectionalDerivativeOfTheLoss) {
  Golden g = load_golden("concat_logvar");
  for (bool official : {false, true}) {
    SCOPED_TRACE(official ? "official variance" : "log variance");
    NetworkConfig cfg = g.cfg;
    cfg.variance = official ? VarianceForm::OfficialMuad : VarianceForm::LogVar;
    cfg.sigmoid_variance = official;
    // The fused-confidence term reads h and its target detached (no gradient through them by design), which
    // central differences of the loss cannot do: it is left out here and covered by the golden test.
    cfg.train_fused_confidence = false;
    Network net(cfg);
    BatchGraph bg = BatchGraph::build(cfg.services, g.edges, g.batch.size);
    std::vector<Parameter*> params = net.parameters();
    // The golden parameters (N(0, 0.25)) keep the GATv2 logits' LeakyReLU inputs mostly away from their kink;
    // with small initial weights many sit within a step of it and central differences straddle the kink.
    for (Parameter* p : params) p->value.copy_from(load_npy(golden_dir("concat_logvar") + "/param." + p->name + ".npy"));
    auto loss = [&] { return net.forward(g.batch, bg, true, 3, 5, true).loss; };
    loss();
    net.zero_grad();
    net.backward();
    std::mt19937_64 gen(9);
    std::normal_distribution<double> n01;
    // Per parameter tensor, a random unit direction (the step h is the distance moved), central differences.
    int checked = 0;
    for (Parameter* p : params) {
      std::vector<double> dir(size_t(p->value.numel()));
      double norm2 = 0;
      for (double& x : dir) norm2 += (x = n01(gen)) * x;
      double analytic = 0;
      auto gr = p->grad.to_vector();
      for (size_t i = 0; i < dir.size(); ++i) analytic += gr[i] * (dir[i] /= std::sqrt(norm2));
      auto shift = [&](double h) {
        float* v = p->value.data<float>();
        for (size_t i = 0; i < dir.size(); ++i) v[i] += float(h * dir[i]);
      };
      const double h = 1e-3;
      shift(h);
      const double up = loss();
      shift(-2 * h);
      const double down = loss();
      shift(h);
      const double numeric = (up - down) / (2 * h);
      EXPECT_NEAR(analytic, numeric, 2e-4 + 3e-2 * std::abs(numeric)) << p->name;
      checked += std::abs(numeric) > 1e-3;
    }
    EXPECT_GT(checked, int(params.size()) / 2);  // most directions do change the loss
  }
}

// One training step on the parity device (the GPU, else the emulated device) against the CPU: the same
// parameters, batch and Philox draws; the loss terms, the fused logits, the per-modality confidences and every
// parameter's gradient must agree. Both fusions, so the row-scale kernel runs at a column offset and at 0.
TEST(GpuParityMuad, TrainingStepLossAndGradientsMatchCpu) {
  const Device dev = test::parity_device();
  Golden g = load_golden("concat_logvar");
  for (bool sum_fusion : {false, true}) {
    SCOPED_TRACE(sum_fusion ? "sum fusion" : "concatenation");
    NetworkConfig cfg = g.cfg;
    cfg.sum_fusion = sum_fusion;
    Network cpu(cfg), gpu(cfg);
    gpu.to(dev);
    const BatchGraph bg = BatchGraph::build(cfg.services, g.edges, g.batch.size);
    const BatchGraph bg_dev = bg.to(dev);
    const Output oc = cpu.forward(g.batch, bg, true, 3, 5, true);
    const Output og = gpu.forward(g.batch, bg_dev, true, 3, 5, true);
    EXPECT_NEAR(og.loss, oc.loss, 1e-5 + 1e-4 * std::abs(oc.loss));
    EXPECT_NEAR(og.ce, oc.ce, 1e-5);
    EXPECT_NEAR(og.tcp, oc.tcp, 1e-5);
    EXPECT_NEAR(og.kl, oc.kl, 1e-5);
    EXPECT_NEAR(og.fused_mse, oc.fused_mse, 1e-5);
    EXPECT_TRUE(test::all_close(gpu.logits(), cpu.logits(), 1e-5, 1e-4));
    for (int v = 0; v < 3; ++v) EXPECT_TRUE(test::all_close(gpu.modality(v).c, cpu.modality(v).c, 1e-6, 1e-4)) << v;
    cpu.zero_grad();
    gpu.zero_grad();
    cpu.backward();
    gpu.backward();
    auto pc = cpu.parameters(), pg = gpu.parameters();
    ASSERT_EQ(pc.size(), pg.size());
    for (size_t i = 0; i < pc.size(); ++i) {
      EXPECT_EQ(pg[i]->grad.device(), dev) << pc[i]->name;
      EXPECT_TRUE(test::all_close(pg[i]->grad, pc[i]->grad, 1e-5, 1e-3)) << pc[i]->name;
    }
  }
}

TEST(MuadData, GeneratorLabelsRatioAndSplits) {
  ServiceGraph g = small_graph();
  GeneratorSettings s;
  s.seconds = 4000;
  s.anomaly_ratio = 0.25;
  s.seed = 3;
  ChunkSet c = generate_chunks(s, g);
  ASSERT_EQ(c.size(), 4000 - 10 + 1);
  double pos = 0;
  for (int y : c.label) pos += y;
  pos /= double(c.size());
  EXPECT_GT(pos, 0.12);
  EXPECT_LT(pos, 0.4);
  for (int64_t k = 0; k < c.size(); ++k) EXPECT_EQ(c.label[size_t(k)] != 0, c.culprit[size_t(k)] != 0);
  // Same seed, same data; another seed, other data.
  ChunkSet c2 = generate_chunks(s, g);
  EXPECT_EQ(c2.metrics, c.metrics);
  s.seed = 4;
  EXPECT_NE(generate_chunks(s, g).metrics, c.metrics);
  // Blocked: every training window ends before every test window starts.
  s.split = "blocked";
  ChunkSet b = generate_chunks(s, g);
  double last_train_end = 0, first_test = 1e18;
  for (int64_t k = 0; k < b.size(); ++k) {
    if (b.split[size_t(k)] == 0) last_train_end = std::max(last_train_end, b.start_s[size_t(k)] + 10);
    else first_test = std::min(first_test, b.start_s[size_t(k)]);
  }
  EXPECT_LE(last_train_end, first_test);
  // Faults are visible: anomalous windows have larger mean |standardised| telemetry than normal ones.
  std::vector<int64_t> all(size_t(c.size()));
  std::iota(all.begin(), all.end(), 0);
  standardise(c, all);
  const int64_t per = c.services * c.steps;
  double dev[2] = {0, 0}, cnt[2] = {0, 0};
  for (int64_t k = 0; k < c.size(); ++k) {
    double s2 = 0;
    for (int64_t i = 0; i < per; ++i) s2 += std::abs(c.traces[size_t(k * per + i)]);
    dev[c.label[size_t(k)]] += s2 / double(per);
    cnt[c.label[size_t(k)]] += 1;
  }
  EXPECT_GT(dev[1] / cnt[1], dev[0] / cnt[0]);
}

TEST(MuadData, ChunkFilesRoundTrip) {
  ServiceGraph g = small_graph();
  GeneratorSettings s;
  s.seconds = 300;
  ChunkSet c = generate_chunks(s, g);
  const std::string d = temp_dir("roundtrip");
  write_service_graph(d, g);
  write_chunks(d, c);
  ServiceGraph g2 = read_service_graph(d);
  EXPECT_EQ(g2.services, g.services);
  EXPECT_EQ(g2.edges, g.edges);
  ChunkSet c2 = read_chunks(d, g2);
  EXPECT_EQ(c2.metrics, c.metrics);
  EXPECT_EQ(c2.traces, c.traces);
  EXPECT_EQ(c2.logs, c.logs);
  EXPECT_EQ(c2.label, c.label);
  EXPECT_EQ(c2.split, c.split);
  std::filesystem::remove_all(d);
}

TEST(MuadData, BadInputsGiveOneClearError) {
  ServiceGraph g = small_graph();
  GeneratorSettings s;
  s.seconds = 300;
  ChunkSet c = generate_chunks(s, g);
  const std::string d = temp_dir("bad");
  write_service_graph(d, g);
  write_chunks(d, c);
  // A chunk whose service count does not match the graph.
  ServiceGraph bigger = g;
  bigger.services.push_back("extra");
  EXPECT_TRUE(test::error_contains([&] { read_chunks(d, bigger); }, "metrics.npy: shape: 6 services per chunk, the graph has 7"));
  // NaN metrics.
  ChunkSet nan = c;
  nan.metrics[123] = NAN;
  write_chunks(d, nan);
  EXPECT_TRUE(test::error_contains([&] { read_chunks(d, g); }, "metrics.npy: chunk 0: non-finite value"));
  // An edge naming an unknown service.
  {
    std::ofstream e(d + "/edges.csv");
    e << "src,dst\n0,1\n2,9\n";
  }
  EXPECT_TRUE(test::error_contains([&] { read_service_graph(d); }, "edges.csv: line 3: edge names unknown service 9"));
  std::filesystem::remove_all(d);
}

// Settings over a fresh folder holding small_graph(): `rest` follows the data section's graph_dir.
Settings settings_with_graph(const std::string& d, const std::string& rest) {
  write_service_graph(d, small_graph());
  const std::string sp = d + "/settings.json";
  {
    std::ofstream f(sp);
    f << R"({"data": {"graph_dir": ")" << d << "\", " << rest;
  }
  return load_settings(sp);
}

TEST(MuadRun, LabelBudgetLargerThanThePoolIsAnError) {
  const std::string d = temp_dir("budget");
  Settings s = settings_with_graph(d, R"("seconds": 300}, "seed": 1, "active": {"label_budget": 100000}})");
  std::ostringstream log;
  EXPECT_TRUE(test::error_contains([&] { run(s, log); }, "active.label_budget: 100000 is larger than the pool"));
  std::filesystem::remove_all(d);
}

// "device": "cuda" is accepted by the settings; without a GPU the run stops with one clear error (with one,
// the run goes to the device: the training-step parity test is the check of that path).
TEST(MuadRun, CudaDeviceWithoutAGpuIsOneClearError) {
  if (cuda_available()) GTEST_SKIP() << "a GPU is present: the run would go to it";
  const std::string d = temp_dir("cuda");
  Settings s = settings_with_graph(d, R"("seconds": 300}, "seed": 1, "device": "cuda"})");
  EXPECT_EQ(s.device, "cuda");
  std::ostringstream log;
  EXPECT_TRUE(test::error_contains([&] { run(s, log); }, "device \"cuda\" requested but"));
  std::filesystem::remove_all(d);
}

// The loop end to end on a tiny problem: rounds grow the labelled set by the query size up to the budget,
// pseudo-labels are counted, and every F1 is a number in [0, 1].
TEST(MuadRun, ActiveLearningLoopRunsToTheBudget) {
  const std::string d = temp_dir("loop");
  Settings s = settings_with_graph(d, R"("seconds": 500, "anomaly_ratio": 0.3}, "seed": 2,
             "model": {"hidden": 8, "heads": 2}, "training": {"epochs": 2, "batch_size": 16},
             "active": {"initial_fraction": 0.1, "query_size": 10, "label_budget": 45, "passes": 2}})");
  std::ostringstream log;
  RunResult r = run(s, log);
  ASSERT_GE(r.rounds.size(), 2u);
  EXPECT_EQ(r.rounds.back().labels, 45);
  for (size_t i = 1; i < r.rounds.size(); ++i) EXPECT_GT(r.rounds[i].labels, r.rounds[i - 1].labels);
  for (const RoundResult& x : r.rounds) {
    EXPECT_GE(x.test_f1, 0.0);
    EXPECT_LE(x.test_f1, 1.0);
  }
  EXPECT_EQ(r.test_scores.size(), size_t(r.test_windows));
  EXPECT_NE(log.str().find("trivial all-anomalous F1"), std::string::npos);
  std::filesystem::remove_all(d);
}

// Thresholds chosen on validation are what the test predictions use; min_steps lengthens rounds on small
// labelled sets; warm_start continues from the previous round's network (with a new optimizer).
TEST(MuadRun, ValidationThresholdMinStepsAndWarmStart) {
  const std::string d = temp_dir("threshold");
  Settings s = settings_with_graph(d, R"("seconds": 500, "anomaly_ratio": 0.3}, "seed": 3,
             "model": {"hidden": 8, "heads": 2},
             "training": {"epochs": 1, "batch_size": 16, "min_steps": 7, "threshold": "validation"},
             "active": {"initial_fraction": 0.1, "query_size": 10, "label_budget": 40, "passes": 1,
                        "warm_start": true}})");
  std::ostringstream log;
  RunResult r = run(s, log);
  ASSERT_GE(r.rounds.size(), 2u);
  for (const RoundResult& x : r.rounds) {
    const int64_t per_epoch = (x.train_size + 15) / 16;
    EXPECT_EQ(x.epochs, std::max<int64_t>(1, (7 + per_epoch - 1) / per_epoch)) << "round " << x.round;
    EXPECT_GE(x.threshold, 0.0);
    EXPECT_LE(x.threshold, 1.0);
  }
  const double t = r.rounds.back().threshold;
  ASSERT_EQ(r.test_pred.size(), r.test_scores.size());
  for (size_t i = 0; i < r.test_pred.size(); ++i) EXPECT_EQ(r.test_pred[i], r.test_scores[i] >= t ? 1 : 0) << i;
  std::filesystem::remove_all(d);
}

// "argmax" is the code's rule: the fused classifier's argmax, threshold reported as 0.5.
TEST(MuadRun, ArgmaxThresholdPredictsTheLargerClass) {
  const std::string d = temp_dir("argmax");
  Settings s = settings_with_graph(d, R"("seconds": 400, "anomaly_ratio": 0.3}, "seed": 4,
             "model": {"hidden": 8, "heads": 2}, "training": {"epochs": 1, "batch_size": 16, "threshold": "argmax"},
             "active": {"mode": "full"}})");
  std::ostringstream log;
  RunResult r = run(s, log);
  ASSERT_EQ(r.rounds.size(), 1u);
  EXPECT_EQ(r.rounds[0].threshold, 0.5);
  for (size_t i = 0; i < r.test_pred.size(); ++i)
    if (std::abs(r.test_scores[i] - 0.5) > 1e-6) EXPECT_EQ(r.test_pred[i], r.test_scores[i] > 0.5 ? 1 : 0) << i;
  std::filesystem::remove_all(d);
}
