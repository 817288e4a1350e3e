// DC-VAE: whole-network gradient check, causality, alpha selection rules, data errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/dcvae/data.h"
#include "models/dcvae/detect.h"
#include "models/dcvae/network.h"
#include "models/dcvae/pipeline.h"
#include "models/dcvae/settings.h"
#include "runtime/run_folder.h"
#include "tests/support/gradcheck.h"
#include "tests/support/helpers.h"

using namespace ad;
using namespace ad::dcvae;

namespace {
Settings tiny_settings() {
  Settings s;
  s.T = 9;
  s.M = 3;
  s.J = 2;
  s.cnn_units = {4, 5, 3};
  s.dil_rate = {1, 2, 4};
  s.kernel = 2;
  s.seed = 5;
  return s;
}

std::string write_temp(const std::string& name, const std::string& content) {
  auto dir = std::filesystem::temp_directory_path() / "ad_test_dcvae";
  std::filesystem::create_directories(dir);
  std::string path = (dir / name).string();
  std::ofstream(path) << content;
  return path;
}

using test::error_of;
}  // namespace

TEST(GradCheckDcvae, WholeNetworkLossInTrainMode) {
  for (std::string reduction : {"mean", "sum"}) {
    SCOPED_TRACE(reduction);
    Settings s = tiny_settings();
    s.loss_reduction = reduction;
    Network net(s, Device::CPU, DType::F64);
    Tensor x = test::random_tensor({2, s.T, s.M}, 3, -1.5, 1.5, DType::F64);
    Outputs last;
    auto forward = [&] {
      PhiloxStream rng(99);  // the same eps on every call
      last = net.forward(x, true, true, rng);
      return Tensor::full({1}, net.loss(x, last).total, DType::F64);
    };
    auto backward = [&](const Tensor& r) {
      net.backward(x, last);
      for (Parameter* p : net.parameters())  // the checker probes r * loss
        for (int64_t i = 0; i < p->grad.numel(); ++i) p->grad.data<double>()[i] *= r.item();
      return std::vector<Tensor>{};
    };
    test::GradCheckOptions o;
    o.max_probes_per_tensor = 6;
    o.tolerance = 1e-5;
    AD_EXPECT_GRADCHECK(test::grad_check({}, net.parameters(), forward, backward, o));
  }
}

TEST(Dcvae, ArchitectureFollowsTheOriginal) {
  Settings s = tiny_settings();
  Network net(s, Device::CPU);
  std::vector<std::string> names;
  for (Parameter* p : net.parameters()) names.push_back(p->name + " " + p->value.shape().str());
  // encoder: cnn_0 (M->U0, D0), cnn_1 (U0->U1, D1); z heads at D[L-2]; decoder: U[-1] at D[-1], U[-2] at D[-2].
  std::vector<std::string> want = {
      "encoder.cnn_0.weight [2,3,4]",       "encoder.cnn_0.bias [4]",          "encoder.cnn_0.bn.gamma [4]",
      "encoder.cnn_0.bn.beta [4]",          "encoder.cnn_1.weight [2,4,5]",    "encoder.cnn_1.bias [5]",
      "encoder.cnn_1.bn.gamma [5]",         "encoder.cnn_1.bn.beta [5]",       "encoder.z_mean.weight [2,5,2]",
      "encoder.z_mean.bias [2]",            "encoder.z_log_var.weight [2,5,2]", "encoder.z_log_var.bias [2]",
      "decoder.cnn_0.weight [2,2,3]",       "decoder.cnn_0.bias [3]",          "decoder.cnn_0.bn.gamma [3]",
      "decoder.cnn_0.bn.beta [3]",          "decoder.cnn_1.weight [2,3,5]",    "decoder.cnn_1.bias [5]",
      "decoder.cnn_1.bn.gamma [5]",         "decoder.cnn_1.bn.beta [5]",       "decoder.x_mean.weight [2,5,3]",
      "decoder.x_mean.bias [3]",            "decoder.x_log_var.weight [2,5,3]", "decoder.x_log_var.bias [3]"};
  EXPECT_EQ(names, want);
  EXPECT_NE(net.summary().find("z_mean: conv 5->2 k2 dil 2"), std::string::npos) << net.summary();
  EXPECT_NE(net.summary().find("cnn_-1: conv 2->3 k2 dil 4, elu"), std::string::npos) << net.summary();
}

TEST(Dcvae, OutputsAreCausalInInferenceMode) {
  Settings s = tiny_settings();
  Network net(s, Device::CPU);
  Tensor x = test::random_tensor({1, s.T, s.M}, 8);
  PhiloxStream rng(1);
  Outputs a = net.forward(x, false, false, rng);
  auto mu_a = a.x_mean.to_vector();
  x.data<float>()[(s.T - 1) * s.M] += 5.0f;  // change only the last step
  Outputs b = net.forward(x, false, false, rng);
  auto mu_b = b.x_mean.to_vector();
  for (int64_t i = 0; i < (s.T - 1) * s.M; ++i) EXPECT_EQ(mu_a[size_t(i)], mu_b[size_t(i)]) << i;
  bool last_changed = false;
  for (int64_t i = (s.T - 1) * s.M; i < s.T * s.M; ++i) last_changed |= mu_a[size_t(i)] != mu_b[size_t(i)];
  EXPECT_TRUE(last_changed);
}

// CPU inference of a batch of at least two groups of ~512 rows runs group by group (Network::infer_in_chunks);
// it must give the bits of the whole-batch path, which a batch of one sequence takes. The original's widths
// (64 channels, the direct convolution kernel's full tiles); a train forward first so that the BatchNorm
// running statistics are not their initial values.
TEST(Dcvae, CpuInferenceInGroupsEqualsOneSequenceAtATime) {
  Settings s;
  s.T = 100;
  s.M = 12;
  s.J = 4;
  s.cnn_units = {64, 64, 64};
  s.dil_rate = {1, 2, 4, 8};
  s.kernel = 2;
  s.seed = 3;
  Network net(s, Device::CPU);
  const int64_t B = 13;  // groups of 512 / 100 = 5 sequences: two full groups and one of 3
  Tensor x = test::random_tensor({B, s.T, s.M}, 21);
  PhiloxStream rng(2);
  net.forward(x, true, true, rng);
  Outputs all = net.forward(x, false, false, rng);
  for (int64_t b = 0; b < B; ++b) {
    SCOPED_TRACE("sequence " + std::to_string(b));
    Outputs one = net.forward(x.narrow0(b, 1).clone(), false, false, rng);
    EXPECT_TRUE(test::bitwise_equal(all.z_mean.narrow0(b, 1).clone(), one.z_mean));
    EXPECT_TRUE(test::bitwise_equal(all.z_log_var.narrow0(b, 1).clone(), one.z_log_var));
    EXPECT_TRUE(test::bitwise_equal(all.z.narrow0(b, 1).clone(), one.z));
    EXPECT_TRUE(test::bitwise_equal(all.x_mean.narrow0(b, 1).clone(), one.x_mean));
    EXPECT_TRUE(test::bitwise_equal(all.x_log_var.narrow0(b, 1).clone(), one.x_log_var));
  }
}

TEST(Dcvae, AlphaSelectionPicksTheBestAndSmallerOnTies) {
  // One channel, sigma 1, mu 0: a point at +5 labelled anomalous, a point at -3 normal.
  Reconstruction r;
  r.rows = 6;
  r.channels = 1;
  r.x = {0, 5, 0, -3, 0, 0};
  r.mu.assign(6, 0.f);
  r.sigma.assign(6, 1.f);
  std::vector<int> labels = {0, 1, 0, 0, 0, 0};
  auto sc = select_alphas(r, labels, true, 7, 2);
  // alpha_up 2..4 all flag +5 only (with alpha_down >= 3): perfect F1; ties go to the smaller alphas,
  // and alpha_down must stay >= 3 so -3 is not flagged: alpha_up 2, alpha_down 3.
  EXPECT_EQ(sc[0].alpha_up, 2);
  EXPECT_EQ(sc[0].alpha_down, 3);
  EXPECT_NEAR(sc[0].f1, 1.0, 1e-5);
  EXPECT_EQ(sc[0].flagged, 1);
}

TEST(Dcvae, ChannelWithoutLabelledAnomalyKeepsDefaults) {
  Reconstruction r;
  r.rows = 4;
  r.channels = 1;
  r.x = {0, 9, 0, 0};
  r.mu.assign(4, 0.f);
  r.sigma.assign(4, 1.f);
  auto sc = select_alphas(r, {0, 0, 0, 0}, true, 7, 2);
  EXPECT_EQ(sc[0].alpha_up, 7);
  EXPECT_EQ(sc[0].alpha_down, 7);
  EXPECT_NE(sc[0].note.find("no labelled anomaly"), std::string::npos);
}

TEST(Dcvae, OutlierMaskingFillsForwardThenBackward) {
  Series s;
  s.path = "mem";
  s.channels = {"a"};
  s.timestamps = {"0", "1", "2", "3", "4"};
  s.values = {100, 1, 2, 100, 3};
  ChannelStats st{{2.0}, {1.0}};
  auto masked = mask_outliers(s, st, 3.0);
  EXPECT_EQ(masked[0], 2);
  EXPECT_EQ(s.values, (std::vector<float>{1, 1, 2, 2, 3}));
}

TEST(IoErrorsDcvae, DataProblemsGiveOneClearError) {
  std::string good = write_temp("good.csv", "timestamp,a,b\nt0,1,2\nt1,3,4\n");
  EXPECT_NE(error_of([&] { read_series(good, 3); }).find("settings say M = 3"), std::string::npos);
  std::string nan = write_temp("nan.csv", "timestamp,a,b\nt0,1,nan\n");
  EXPECT_NE(error_of([&] { read_series(nan, 2); }).find("line 2"), std::string::npos);
  std::string text = write_temp("text.csv", "timestamp,a,b\nt0,1,2\nt1,x,4\n");
  std::string msg = error_of([&] { read_series(text, 2); });
  EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("column 2"), std::string::npos) << msg;
  EXPECT_NE(error_of([&] { read_series("/nonexistent/x.csv", 2); }).find("/nonexistent/x.csv"), std::string::npos);
  Series d = read_series(good, 2);
  std::string shifted = write_temp("lab.csv", "timestamp,a,b\nt0,0,1\nt9,0,0\n");
  msg = error_of([&] { read_labels(shifted, d); });
  EXPECT_NE(msg.find("timestamp \"t9\""), std::string::npos) << msg;
  std::string notbinary = write_temp("lab2.csv", "timestamp,a,b\nt0,0,2\nt1,0,0\n");
  EXPECT_NE(error_of([&] { read_labels(notbinary, d); }).find("0 or 1"), std::string::npos);
}

TEST(IoErrorsDcvae, SettingsProblemsNameTheKey) {
  std::string unknown = write_temp("s1.json", R"({"T": 16, "lerning_rate": 0.1})");
  std::string msg = error_of([&] { load_settings(unknown); });
  EXPECT_NE(msg.find("unknown key \"lerning_rate\""), std::string::npos) << msg;
  std::string wrong = write_temp("s2.json", R"({"epochs": "ten"})");
  EXPECT_NE(error_of([&] { load_settings(wrong); }).find("epochs"), std::string::npos);
  std::string dil = write_temp("s3.json", R"({"cnn_units": [4, 4, 4], "dil_rate": [1, 2]})");
  EXPECT_NE(error_of([&] { load_settings(dil); }).find("dil_rate"), std::string::npos);
  std::string original = test::source_dir() + "/settings/dcvae_telco_original.json";
  Settings s = load_settings(original);  // the original's keys load as they are
  EXPECT_EQ(s.T, 128);
  EXPECT_EQ(s.cnn_units.size(), 6u);
  EXPECT_FALSE(s.tf32);  // TF32 GEMMs only when asked for
  EXPECT_TRUE(load_settings(write_temp("s4.json", R"({"tf32": true})")).tf32);
  EXPECT_NE(error_of([&] { load_settings(write_temp("s5.json", R"({"tf32": 1})")); }).find("tf32"), std::string::npos);
}

namespace {
// A series of `rows` steps of three channels ("timestamp,a,b,c"), and its labels (one anomalous stretch).
void write_series(const test::TempDir& d, const std::string& name, int rows, int seed) {
  std::ostringstream x, y;
  x << "timestamp,a,b,c\n";
  y << "timestamp,a,b,c\n";
  for (int t = 0; t < rows; ++t) {
    const bool bad = t >= rows / 2 && t < rows / 2 + 4;
    x << "t" << t << "," << std::sin(0.3 * t + seed) + (bad ? 4 : 0) << "," << std::cos(0.2 * t) << "," << (t % 7) * 0.1
      << "\n";
    y << "t" << t << "," << int(bad) << ",0,0\n";
  }
  d.write(name + ".csv", x.str());
  d.write(name + "_labels.csv", y.str());
}
std::vector<std::string> outputs(const std::string& dir, const std::string& stage) {
  std::ifstream in(dir + "/run.json");
  const auto j = nlohmann::json::parse(in);
  return j.contains("outputs") && j["outputs"].contains(stage) ? j["outputs"][stage].get<std::vector<std::string>>()
                                                                 : std::vector<std::string>{};
}
bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

// Stage "all" records each file under the stage that wrote it, so rerunning --stage alpha afterwards removes
// the old alphas and every test result (they depended on the alphas) and keeps the checkpoint.
TEST(DcvaeRunFolder, AllRecordsOutputsPerStageAndAlphaRerunRemovesTestResults) {
  test::TempDir d;
  write_series(d, "train", 60, 0);
  write_series(d, "alpha", 40, 1);
  write_series(d, "test", 40, 2);
  Settings s = tiny_settings();
  s.epochs = 1;
  s.batch_size = 8;
  s.min_alpha = s.max_alpha = 3;
  s.plots = false;
  s.train_data = d.path("train.csv");
  s.alpha_data = d.path("alpha.csv");
  s.alpha_labels = d.path("alpha_labels.csv");
  s.test_data = d.path("test.csv");
  s.test_labels = d.path("test_labels.csv");
  std::ostringstream out, log;
  auto options = [&](const std::string& run, const std::string& stage) {
    RunOptions o{"run_dcvae", d.path("runs"), run, stage};
    o.stage_order = {"train", "alpha", "test"};
    return o;
  };
  std::string dir;
  {
    RunFolder run(options("", "all"));
    run_pipeline(s, Device::CPU, "all", run.path(), out, log, [&](const std::string& n) { run.begin_stage(n); });
    dir = run.finish();
  }
  const auto train = outputs(dir, "train"), alpha = outputs(dir, "alpha"), test = outputs(dir, "test");
  EXPECT_TRUE(has(train, "checkpoint.safetensors") && has(train, "preprocessing.json")) << log.str();
  EXPECT_FALSE(has(train, "alphas.json") || has(train, "metrics.json"));
  EXPECT_EQ(alpha, std::vector<std::string>{"alphas.json"});
  EXPECT_TRUE(has(test, "metrics.json") && has(test, "test_predictions.csv"));
  const auto checkpoint = std::filesystem::last_write_time(dir + "/checkpoint.safetensors");
  {
    RunFolder run(options(dir, "alpha"), &log);  // removes the alpha and test results first
    for (const auto& f : test) EXPECT_FALSE(std::filesystem::exists(dir + "/" + f)) << f;
    EXPECT_FALSE(std::filesystem::exists(dir + "/alphas.json"));
    EXPECT_TRUE(std::filesystem::exists(dir + "/checkpoint.safetensors"));
    run_pipeline(s, Device::CPU, "alpha", run.path(), out, log, [&](const std::string& n) { run.begin_stage(n); });
    run.finish();
  }
  EXPECT_EQ(std::filesystem::last_write_time(dir + "/checkpoint.safetensors"), checkpoint);
  EXPECT_TRUE(std::filesystem::exists(dir + "/alphas.json"));
  EXPECT_TRUE(outputs(dir, "test").empty());
  EXPECT_TRUE(has(outputs(dir, "train"), "checkpoint.safetensors"));
  verify_run_folder(dir, "test");
}

TEST(GpuParityDcvae, TrainingStepLossesMatchCpu) {
  const Device G = test::parity_device();
  Settings s = tiny_settings();
  s.T = 32;
  s.cnn_units = {16, 16, 16};
  s.dil_rate = {1, 2, 4};
  Network cpu(s, Device::CPU), gpu(s, G);
  Tensor x = test::random_tensor({4, s.T, s.M}, test::fresh_seed());
  PhiloxStream r1(3), r2(3);
  Outputs oc = cpu.forward(x, true, true, r1);
  Outputs og = gpu.forward(x.to(G), true, true, r2);
  EXPECT_TRUE(test::all_close(og.x_mean, oc.x_mean, 1e-4, 1e-3));
  EXPECT_TRUE(test::all_close(og.z, oc.z, 1e-4, 1e-3));
  EXPECT_NEAR(gpu.loss(x.to(G), og).total, cpu.loss(x, oc).total, 1e-3);
  cpu.backward(x, oc);
  gpu.backward(x.to(G), og);
  auto pc = cpu.parameters(), pg = gpu.parameters();
  for (size_t i = 0; i < pc.size(); ++i) EXPECT_TRUE(test::all_close(pg[i]->grad, pc[i]->grad, 1e-4, 1e-2)) << pc[i]->name;
}
