// TraceAnomaly trace vectors -> attributed kNN graph of traces (models/anomalydae/trace_vectors.h).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "models/anomalydae/trace_vectors.h"
#include "runtime/error.h"
#include "tests/support/helpers.h"

namespace ad::anomalydae {
namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string dir = std::filesystem::temp_directory_path() / ("ad_stv_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name) << text;
  return dir + "/" + name;
}

TEST(TraceVectors, ReaderKeepsPresentPathsOnly) {
  const std::string p = write_file("r.txt", "aa:0,1.5,0,2\r\n\nbb:0,0,0,0.25\n\r");
  TraceVectors tv = read_trace_vectors(p);
  EXPECT_EQ(tv.width, 4);
  ASSERT_EQ(tv.ids, (std::vector<std::string>{"aa", "bb"}));
  EXPECT_EQ(tv.present[0], (std::vector<std::pair<int32_t, float>>{{1, 1.5f}, {3, 2.0f}}));
  EXPECT_EQ(tv.present[1], (std::vector<std::pair<int32_t, float>>{{3, 0.25f}}));
}

TEST(IoErrorsTraceVectors, BadLinesNameFileAndLine) {
  using test::error_contains;
  const auto read = [](const char* name, const char* text) { return [=] { read_trace_vectors(write_file(name, text)); }; };
  EXPECT_TRUE(error_contains(read("e1.txt", "aa:1,2\nbb 1,2\n"), "e1.txt:2: expected"));
  EXPECT_TRUE(error_contains(read("e2.txt", "aa:1,2\nbb:1,-2\n"), "e2.txt:2: value 2"));
  EXPECT_TRUE(error_contains(read("e3.txt", "aa:1,2\nbb:1,x\n"), "e3.txt:2: value 2"));
  EXPECT_TRUE(error_contains(read("e4.txt", "aa:1,2\nbb:1,2,3\n"), "e4.txt:2: 3 values, the first line has 2"));
  EXPECT_TRUE(error_contains(read("e5.txt", "aa:1;2\n"), "e5.txt:1: value 1 is followed by ';'"));
  EXPECT_TRUE(error_contains(read("e6.txt", ""), "no traces"));
  EXPECT_TRUE(error_contains([] { read_trace_vectors("/nonexistent/stv.txt"); }, "/nonexistent/stv.txt"));
}

// Two call-path patterns: normal traces take paths {0, 1}, abnormal ones {2, 3}. With knn 2 every trace's
// neighbours are all traces sharing its pattern (ties included), features follow TraceAnomaly's normalisation, labels and names are kept.
TEST(TraceVectors, GraphLinksTracesWithTheSamePaths) {
  std::string normal, abnormal;
  for (int i = 0; i < 6; ++i) normal += "n" + std::to_string(i) + ":" + std::to_string(10 + i) + ",5,0,0,0\n";
  for (int i = 0; i < 3; ++i) abnormal += "a" + std::to_string(i) + ":0,0,7,9,0\n";
  TraceVectorGraphSettings s;
  s.normal = write_file("n.txt", normal);
  s.abnormal = write_file("a.txt", abnormal);
  s.normal_count = 0;
  s.abnormal_count = 0;
  s.knn = 2;
  AttributedGraph g = load_trace_vectors(s, 3);
  ASSERT_EQ(g.nodes(), 9);
  EXPECT_EQ(g.attrs(), 4);  // path 4 never occurs: dropped
  ASSERT_EQ(g.names.size(), 9u);
  int anomalies = 0;
  for (int l : g.labels) anomalies += l;
  EXPECT_EQ(anomalies, 3);
  std::vector<double> a = csr_to_dense(g.adjacency).to_vector(), f = g.features.to_vector();
  for (int64_t i = 0; i < 9; ++i) {
    EXPECT_EQ(g.names[size_t(i)][0] == 'a', g.labels[size_t(i)] == 1);
    int degree = 0;
    for (int64_t j = 0; j < 9; ++j) {
      EXPECT_EQ(a[size_t(i * 9 + j)], a[size_t(j * 9 + i)]) << "not symmetric";
      if (a[size_t(i * 9 + j)] != 0) {
        ++degree;
        EXPECT_EQ(g.labels[size_t(i)], g.labels[size_t(j)]) << "edge across patterns " << i << "-" << j;
      }
    }
    EXPECT_EQ(degree, g.labels[size_t(i)] == 1 ? 2 : 5);  // ties at the 2nd similarity: all identical twins
    EXPECT_EQ(a[size_t(i * 9 + i)], 0.0);
    // Column 0 holds 10..15 over the normal traces: mean 12.5, std 1.708 (population) -> scale 1.708.
    if (g.labels[size_t(i)] == 0) {
      const double v = 10 + std::stoi(g.names[size_t(i)].substr(1));
      EXPECT_NEAR(f[size_t(i * 4 + 0)], (v - 12.5) / std::sqrt(17.5 / 6.0), 1e-5);
      EXPECT_NEAR(f[size_t(i * 4 + 1)], 0.0, 1e-6);  // constant 5: (5 - 5) / max(0, 1)
      EXPECT_EQ(f[size_t(i * 4 + 2)], -1.0);          // absent
    } else {
      EXPECT_EQ(f[size_t(i * 4 + 0)], -1.0);
      EXPECT_NEAR(f[size_t(i * 4 + 3)], 0.0, 1e-6);
    }
  }
  // Same seed, same graph; another seed, another node order.
  AttributedGraph again = load_trace_vectors(s, 3), other = load_trace_vectors(s, 4);
  EXPECT_EQ(again.names, g.names);
  EXPECT_NE(other.names, g.names);
}

TEST(TraceVectors, RealTrainTicketVectors) {
  const std::string dir = test::shared_data_dir() + "/traces/train_ticket";
  if (!std::filesystem::exists(dir + "/test_normal.zip"))
    GTEST_SKIP() << "shared data absent: " << dir << "/test_normal.zip";
  TraceVectorGraphSettings s;
  s.normal = dir + "/test_normal.zip";
  s.abnormal = dir + "/test_abnormal.zip";
  s.normal_count = 200;
  s.abnormal_count = 20;
  s.knn = 5;
  AttributedGraph g = load_trace_vectors(s, 7);
  ASSERT_EQ(g.nodes(), 220);
  EXPECT_GT(g.attrs(), 10);
  EXPECT_LE(g.attrs(), 890);
  int anomalies = 0;
  for (int l : g.labels) anomalies += l;
  EXPECT_EQ(anomalies, 20);
  std::set<std::string> unique(g.names.begin(), g.names.end());
  EXPECT_EQ(unique.size(), 220u);
  // Hex ids of up to 32 digits (leading zeros dropped in the files), no stray carriage returns.
  for (const std::string& id : g.names)
    EXPECT_TRUE(!id.empty() && id.size() <= 32 && id.find_first_not_of("0123456789abcdef") == std::string::npos)
        << "[" << id << "]";
  const std::vector<int64_t> rp(g.adjacency.row_ptr.data<int64_t>(), g.adjacency.row_ptr.data<int64_t>() + 221);
  for (int64_t i = 0; i < 220; ++i) EXPECT_GE(rp[size_t(i + 1)] - rp[size_t(i)], 5) << "node " << i;
  // Every column occurs in some trace: at least one value per column is not -1.
  std::vector<double> f = g.features.to_vector();
  for (int64_t j = 0; j < g.attrs(); ++j) {
    bool present = false;
    for (int64_t i = 0; i < 220 && !present; ++i) present = f[size_t(i * g.attrs() + j)] != -1.0;
    EXPECT_TRUE(present) << "column " << j;
  }
}

}  // namespace
}  // namespace ad::anomalydae
