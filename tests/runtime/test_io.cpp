// Runtime IO: CSV, settings, safetensors, npy, progress bar, atomic files and staging folders.
// `Io` tests check round trips; `IoErrors` tests check that every malformed input is an ad::Error
// whose message says where the problem is.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "runtime/csv.h"
#include "runtime/fs_util.h"
#include "runtime/npy.h"
#include "runtime/progress.h"
#include "runtime/safetensors.h"
#include "runtime/settings.h"
#include "runtime/tensor.h"
#include "runtime/cuda_context.h"
#include "tests/support/helpers.h"

using namespace ad;
namespace fs = std::filesystem;

namespace {


std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

using ad::test::error_of;
using ad::test::TempDir;

#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

}  // namespace

// ---- CSV --------------------------------------------------------------------------------------------
TEST(Io, CsvWriteReadRoundTrip) {
  TempDir d;
  std::string p = d.path("t.csv");
  std::vector<double> a = {1.5, -2.25e-7, 1.0 / 3.0}, b = {0, 1e300, 42};
  write_csv_atomic(p, {"timestamp", "cpu", "mem, MB"}, {"2024-01-01 00:00", "t,1", "t\"2"}, {a, b});
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  CsvTable t = read_csv(p);
  ASSERT_EQ(t.rows(), 3u);
  EXPECT_EQ(t.header, (std::vector<std::string>{"timestamp", "cpu", "mem, MB"}));
  EXPECT_EQ(t.first_column, (std::vector<std::string>{"2024-01-01 00:00", "t,1", "t\"2"}));
  ASSERT_EQ(t.columns.size(), 2u);
  EXPECT_EQ(t.columns[0], a);  // precision 17 round-trips doubles exactly
  EXPECT_EQ(t.columns[1], b);
  EXPECT_EQ(t.column_index("mem, MB"), 1u);
}

TEST(Io, CsvCrLfQuotedHeaderAndMissingValues) {
  TempDir d;
  std::string p = d.write("w.csv", "\xEF\xBB\xBF\"time\",\"cpu load\",x\r\nt0,1,\r\nt1, +2.5 ,3e2\r\n\r\n");
  CsvOptions opt;
  opt.allow_missing = true;
  CsvTable t = read_csv(p, opt);
  EXPECT_EQ(t.header, (std::vector<std::string>{"time", "cpu load", "x"}));
  ASSERT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.first_column[1], "t1");
  EXPECT_EQ(t.columns[0], (std::vector<double>{1, 2.5}));
  EXPECT_TRUE(std::isnan(t.columns[1][0]));
  EXPECT_EQ(t.columns[1][1], 300);
  // NaN written by write_csv_atomic is an empty cell: readable back with allow_missing only.
  std::string q = d.path("nan.csv");
  write_csv_atomic(q, {"k", "v"}, {"a"}, {{std::nan("")}});
  EXPECT_TRUE(std::isnan(read_csv(q, opt).columns[0][0]));
  EXPECT_HAS(error_of([&] { read_csv(q); }), "empty cell");
}

TEST(IoErrors, CsvMissingAndEmptyFile) {
  TempDir d;
  std::string msg = error_of([&] { read_csv(d.path("nope.csv")); });
  EXPECT_HAS(msg, "read_csv");
  EXPECT_HAS(msg, "nope.csv");
  EXPECT_HAS(msg, "No such file");
  msg = error_of([&] { read_csv(d.write("e.csv", "")); });
  EXPECT_HAS(msg, "e.csv: empty file");
  msg = error_of([&] { read_csv(d.write("e2.csv", "\r\n\r\n")); });
  EXPECT_HAS(msg, "empty file");
}

TEST(IoErrors, CsvRaggedRowNamesLineAndCounts) {
  TempDir d;
  std::string p = d.write("r.csv", "t,a,b\n0,1,2\n1,3\n");
  std::string msg = error_of([&] { read_csv(p); });
  EXPECT_HAS(msg, "r.csv line 3");
  EXPECT_HAS(msg, "expected 3 columns");
  EXPECT_HAS(msg, "got 2");
  msg = error_of([&] { read_csv(d.write("r2.csv", "t,a\n0,1\n\n1,2\n")); });
  EXPECT_HAS(msg, "line 3");
  EXPECT_HAS(msg, "blank line");
}

TEST(IoErrors, CsvNonNumericCellNamesFileLineColumnHeader) {
  TempDir d;
  std::string body = "time,mem,cpu\n";
  for (int i = 0; i < 15; ++i) body += std::to_string(i) + ",1,2\n";
  body += "15,1,abc\n";  // line 17
  std::string p = d.write("data.csv", body);
  std::string msg = error_of([&] { read_csv(p); });
  EXPECT_HAS(msg, "read_csv: ");
  EXPECT_HAS(msg, "data.csv line 17, column 3 (\"cpu\"): not a number \"abc\"");
  msg = error_of([&] { read_csv(d.write("x.csv", "t,v\n0,1.5x\n")); });
  EXPECT_HAS(msg, "not a number \"1.5x\"");
}

TEST(IoErrors, CsvNanInfAndEmptyCells) {
  TempDir d;
  std::string p = d.write("n.csv", "t,v,w\n0,1,NaN\n1,-inf,2\n");
  std::string msg = error_of([&] { read_csv(p); });
  EXPECT_HAS(msg, "n.csv line 2, column 3 (\"w\"): non-finite value \"NaN\"");
  CsvOptions opt;
  opt.allow_nonfinite = true;
  CsvTable t = read_csv(p, opt);
  EXPECT_TRUE(std::isnan(t.columns[1][0]));
  EXPECT_EQ(t.columns[0][1], -std::numeric_limits<double>::infinity());
  msg = error_of([&] { read_csv(d.write("m.csv", "t,v\n0,\n")); });
  EXPECT_HAS(msg, "m.csv line 2, column 2 (\"v\"): empty cell");
  msg = error_of([&] { read_csv(d.write("q.csv", "t,\"v\n0,1\n")); });
  EXPECT_HAS(msg, "line 1 (header): unterminated quote");
  msg = error_of([&] { read_csv(d.write("dup.csv", "t,v,v\n")); });
  EXPECT_HAS(msg, "\"v\" appears twice");
}

// ---- settings ---------------------------------------------------------------------------------------
TEST(Io, SettingsResolvedValuesIncludeDefaults) {
  TempDir d;
  std::string p = d.write("s.json", R"({
    // comments are allowed in settings files
    "epochs": 10, "learning_rate": 0.5, "hidden": [64, 32], "model": {"kind": "vae", "beta": 2},
    "big": 1e3, "weights": [1, 2.5]
  })");
  SettingsReader s(load_json_file(p), p);
  EXPECT_EQ(s.get_int("epochs"), 10);
  EXPECT_EQ(s.get_number("learning_rate", 1e-3), 0.5);
  EXPECT_EQ(s.get_int("batch", 32), 32);  // absent: the default
  EXPECT_EQ(s.get_int("big"), 1000);      // an integral float is an integer
  EXPECT_EQ(s.get_int_list("hidden"), (std::vector<int64_t>{64, 32}));
  EXPECT_EQ(s.get_number_list("weights"), (std::vector<double>{1, 2.5}));
  EXPECT_EQ(s.get_bool("verbose", false), false);
  SettingsReader m = s.section("model");
  EXPECT_EQ(m.get_choice("kind", "ae", {"ae", "vae"}), "vae");
  EXPECT_EQ(m.get_number("beta", 1.0), 2.0);
  EXPECT_EQ(m.get_string("name", "default"), "default");
  EXPECT_TRUE(s.section("optimizer").get_bool("nesterov", true));  // absent section: defaults
  s.finish();
  nlohmann::json want = nlohmann::json::parse(R"({"epochs": 10, "learning_rate": 0.5, "batch": 32, "big": 1000,
    "hidden": [64, 32], "weights": [1.0, 2.5], "verbose": false,
    "model": {"kind": "vae", "beta": 2.0, "name": "default"}, "optimizer": {"nesterov": true}})");
  EXPECT_EQ(s.resolved(), want) << s.resolved().dump(2);
}

TEST(IoErrors, SettingsUnknownKeyListsKnownKeys) {
  SettingsReader s(nlohmann::json::parse(R"({"learning_rate_": 1, "lerning_rate": 0.1, "epochs": 3})"), "file.json");
  s.get_number("learning_rate", 1e-3);
  s.get_int("epochs", 1);
  s.get_int("batch", 8);
  std::string msg = error_of([&] { s.finish(); });
  EXPECT_EQ(msg.rfind("settings file.json: unknown key ", 0), 0u) << msg;
  EXPECT_HAS(msg, "unknown key \"lerning_rate\" (known: batch, epochs, learning_rate)");
  EXPECT_HAS(msg, "did you mean \"learning_rate\"");
  EXPECT_HAS(msg, "unknown key \"learning_rate_\"");
  // Nested sections are checked by the root's finish().
  SettingsReader n(nlohmann::json::parse(R"({"model": {"hiden": 3}})"), "n.json");
  n.section("model").get_int("hidden", 4);
  msg = error_of([&] { n.finish(); });
  EXPECT_HAS(msg, "unknown key \"model.hiden\" (known in \"model\": hidden)");
}

TEST(IoErrors, SettingsWrongTypeNamesKeyAndType) {
  SettingsReader s(nlohmann::json::parse(R"({"epochs": "ten", "lr": true, "dims": [1, 2.5], "n": 1.5,
    "m": {"k": []}, "sec": 3, "mode": "fast"})"), "file.json");
  EXPECT_HAS(error_of([&] { s.get_int("epochs", 1); }), "settings file.json: key \"epochs\" must be an integer, got \"ten\"");
  EXPECT_HAS(error_of([&] { s.get_number("lr"); }), "key \"lr\" must be a number, got true");
  EXPECT_HAS(error_of([&] { s.get_int_list("dims"); }), "key \"dims\" must be a list of integers, got [1,2.5]");
  EXPECT_HAS(error_of([&] { s.get_int("n"); }), "key \"n\" must be an integer, got 1.5");
  EXPECT_HAS(error_of([&] { s.section("m").get_string("k"); }), "key \"m.k\" must be a string, got []");
  EXPECT_HAS(error_of([&] { s.section("sec"); }), "key \"sec\" must be an object, got 3");
  EXPECT_HAS(error_of([&] { s.get_string("required_thing"); }), "missing required key \"required_thing\" (a string)");
  EXPECT_HAS(error_of([&] { s.get_choice("mode", "slow", {"slow", "exact"}); }),
             "key \"mode\" must be one of \"slow\", \"exact\", got \"fast\"");
  EXPECT_HAS(error_of([] { SettingsReader(nlohmann::json::array(), "a.json"); }), "settings a.json: expected a JSON object");
}

TEST(IoErrors, SettingsBadJsonAndMissingFile) {
  TempDir d;
  std::string p = d.write("bad.json", "{\n  \"a\": 1,\n  \"b\": \n}");
  std::string msg = error_of([&] { load_json_file(p); });
  EXPECT_HAS(msg, "load_json_file: " + p + ": invalid JSON at byte ");
  EXPECT_HAS(msg, "line 4");  // nlohmann's position text
  msg = error_of([&] { load_json_file(d.path("missing.json")); });
  EXPECT_HAS(msg, "missing.json");
  EXPECT_HAS(msg, "No such file");
}

// ---- safetensors ------------------------------------------------------------------------------------
namespace {
std::vector<std::pair<std::string, Tensor>> sample_tensors() {
  return {{"enc.weight", Tensor::from_vector({1.5, -2, 3.25, 0, 1e-8, -7}, {2, 3}, DType::F32)},
          {"enc.bias", Tensor::from_vector({0.1, 0.2}, {2}, DType::F64)},
          {"step", Tensor::from_vector({-5, 7, 1 << 30}, {3}, DType::I32)},
          {"ids", Tensor::from_vector({-1, 4e12}, {1, 2, 1}, DType::I64)},
          {"mask", Tensor::from_vector({0, 1, 255, 7}, {4}, DType::U8)},
          {"empty", Tensor::zeros({0, 3}, DType::F32)},
          {"scalar", Tensor::from_vector({3}, Shape(), DType::F32)}};
}
}  // namespace

TEST(Io, SafetensorsRoundTripAllDtypesAndMetadata) {
  TempDir d;
  std::string p = d.path("m.safetensors");
  auto tensors = sample_tensors();
  save_safetensors(p, tensors, {{"model", "dcvae"}, {"epoch", "12"}});
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  std::map<std::string, std::string> meta = {{"stale", "x"}};
  auto back = load_safetensors(p, &meta);
  EXPECT_EQ(meta, (std::map<std::string, std::string>{{"model", "dcvae"}, {"epoch", "12"}}));
  ASSERT_EQ(back.size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(back.count(name));
    const Tensor& b = back.at(name);
    EXPECT_EQ(b.dtype(), t.dtype());
    EXPECT_EQ(b.shape(), t.shape());
    EXPECT_EQ(b.device(), Device::CPU);
    EXPECT_EQ(b.to_vector(), t.to_vector());
  }
  EXPECT_EQ(back.at("ids").data<int64_t>()[1], int64_t(4e12));
}

TEST(Io, SafetensorsHeaderByteLayout) {
  // Checks the file byte by byte against the format description, without load_safetensors.
  TempDir d;
  std::string p = d.path("h.safetensors");
  Tensor w = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F32);
  Tensor b = Tensor::from_vector({-1, 0.5}, {2}, DType::F64);
  save_safetensors(p, {{"w", w}, {"b", b}}, {{"format", "pt"}});
  std::string bytes = read_bytes(p);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | uint8_t(bytes[i]);  // explicit little-endian decode
  ASSERT_EQ(bytes.size(), 8 + n + 24 + 16);
  EXPECT_EQ(n % 8, 0u);  // data aligned to 8 bytes
  std::string text = bytes.substr(8, n);
  EXPECT_EQ(text.front(), '{');
  EXPECT_EQ(text.find_last_not_of(' '), text.find_last_of('}'));  // only space padding after the JSON
  nlohmann::json h = nlohmann::json::parse(text);
  EXPECT_EQ(h["w"], nlohmann::json::parse(R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,24]})"));
  EXPECT_EQ(h["b"], nlohmann::json::parse(R"({"dtype":"F64","shape":[2],"data_offsets":[24,40]})"));
  EXPECT_EQ(h["__metadata__"], nlohmann::json::parse(R"({"format":"pt"})"));
  EXPECT_EQ(h.size(), 3u);
  const char* data = bytes.data() + 8 + n;
  float f[6];
  double g[2];
  std::memcpy(f, data, 24);
  std::memcpy(g, data + 24, 16);
  EXPECT_EQ(std::vector<float>(f, f + 6), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(g[0], -1.0);
  EXPECT_EQ(g[1], 0.5);
}

TEST(Io, SafetensorsSavesDeviceTensors) {
  TempDir d;
  std::string p = d.path("g.safetensors");
  Tensor c = Tensor::from_vector({1, 2, 3}, {3}).to(test::parity_device());
  save_safetensors(p, {{"c", c}});
  EXPECT_EQ(load_safetensors(p).at("c").to_vector(), (std::vector<double>{1, 2, 3}));
}

TEST(IoErrors, SafetensorsTruncatedAndMalformed) {
  TempDir d;
  std::string good = d.path("good.safetensors");
  save_safetensors(good, sample_tensors());
  std::string bytes = read_bytes(good);
  // Cut inside the data: the last tensors' bytes are missing.
  std::string msg = error_of([&] { load_safetensors(d.write("cut.safetensors", bytes.substr(0, bytes.size() - 3))); });
  EXPECT_HAS(msg, "load_safetensors: ");
  EXPECT_HAS(msg, "cut.safetensors: tensor \"");
  EXPECT_HAS(msg, "truncated file");
  // Cut inside the header, and before the header length.
  msg = error_of([&] { load_safetensors(d.write("cut2.safetensors", bytes.substr(0, 20))); });
  EXPECT_HAS(msg, "cut2.safetensors: truncated file (header length");
  msg = error_of([&] { load_safetensors(d.write("cut3.safetensors", bytes.substr(0, 5))); });
  EXPECT_HAS(msg, "truncated file (5 bytes");
  // Unsupported dtype and wrong byte counts, in otherwise well-formed files.
  auto with_header = [](const std::string& h, size_t data_bytes) {
    std::string out(8, '\0');
    uint64_t n = h.size();
    std::memcpy(out.data(), &n, 8);
    return out + h + std::string(data_bytes, '\0');
  };
  msg = error_of([&] {
    load_safetensors(d.write("bf.safetensors", with_header(R"({"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", 4)));
  });
  EXPECT_HAS(msg, "tensor \"x\": unsupported dtype \"BF16\"");
  msg = error_of([&] {
    load_safetensors(d.write("sz.safetensors", with_header(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)));
  });
  EXPECT_HAS(msg, "needs 12");
  msg = error_of([&] { load_safetensors(d.write("js.safetensors", with_header("{not json", 0))); });
  EXPECT_HAS(msg, "header: invalid JSON");
  EXPECT_HAS(error_of([&] { load_safetensors(d.path("absent.safetensors")); }), "No such file");
  EXPECT_HAS(error_of([&] { save_safetensors(d.path("dup.safetensors"), {{"a", Tensor::zeros({1})}, {"a", Tensor::zeros({1})}}); }),
             "tensor name \"a\" appears twice");
}

// ---- npy --------------------------------------------------------------------------------------------
namespace {
// A .npy file built by hand: magic, version, little-endian header length, header text, data.
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  std::string out = std::string("\x93NUMPY", 6) + char(major) + '\0';
  size_t n = dict.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i) out += char((n >> (8 * i)) & 0xff);
  return out + dict + data;
}
}  // namespace

TEST(Io, NpyRoundTripAllDtypes) {
  TempDir d;
  for (const auto& [name, t] : sample_tensors()) {
    SCOPED_TRACE(name);
    std::string p = d.path(name + ".npy");
    save_npy(p, t);
    Tensor b = load_npy(p);
    EXPECT_EQ(b.dtype(), t.dtype());
    EXPECT_EQ(b.shape(), t.shape());
    EXPECT_EQ(b.to_vector(), t.to_vector());
    EXPECT_EQ(read_bytes(p).size() % 64, t.nbytes() % 64);  // header padded to 64 bytes, as numpy does
  }
}

TEST(Io, NpyHeaderMatchesNumpyAndReadsV2) {
  TempDir d;
  std::string p = d.path("a.npy");
  save_npy(p, Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}, DType::F32));
  std::string bytes = read_bytes(p);
  // What numpy.save writes for np.arange(1, 7, dtype='<f4').reshape(2, 3).
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes.substr(0, 10), std::string("\x93NUMPY\x01\x00\x76\x00", 10));  // header length 118
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes.substr(10 + dict.size(), 118 - dict.size()), std::string(117 - dict.size(), ' ') + "\n");
  float f[6];
  std::memcpy(f, bytes.data() + 128, 24);
  EXPECT_EQ(std::vector<float>(f, f + 6), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  // A version 2.0 file (4-byte header length) with a 1-d i64 array.
  int64_t v[3] = {-3, 0, 1ll << 40};
  std::string data(reinterpret_cast<const char*>(v), 24);
  Tensor t = load_npy(d.write("v2.npy", npy_bytes(2, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }\n", data)));
  EXPECT_EQ(t.shape(), Shape({3}));
  EXPECT_EQ(t.data<int64_t>()[2], 1ll << 40);
}

TEST(IoErrors, NpyBadMagicFortranDtypeTruncated) {
  TempDir d;
  std::string msg = error_of([&] { load_npy(d.write("m.npy", "PK\x03\x04 this is a zip file")); });
  EXPECT_HAS(msg, "load_npy: ");
  EXPECT_HAS(msg, "m.npy: not a .npy file (bad magic");
  std::string f4 = std::string(16, '\0');
  msg = error_of([&] { load_npy(d.write("f.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", f4))); });
  EXPECT_HAS(msg, "Fortran-order");
  msg = error_of([&] { load_npy(d.write("h.npy", npy_bytes(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n", "xxxx"))); });
  EXPECT_HAS(msg, "h.npy: unsupported dtype '<f2'");
  msg = error_of([&] { load_npy(d.write("b.npy", npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", "xxxx"))); });
  EXPECT_HAS(msg, "unsupported dtype '>f4' (big-endian)");
  msg = error_of([&] { load_npy(d.write("t.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", f4.substr(0, 10)))); });
  EXPECT_HAS(msg, "t.npy: truncated file (shape [2,2] <f4 needs 16 data bytes, the file has 10)");
  msg = error_of([&] { load_npy(d.write("t2.npy", npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", f4).substr(0, 30))); });
  EXPECT_HAS(msg, "truncated file (header length");
  EXPECT_HAS(error_of([&] { load_npy(d.path("none.npy")); }), "No such file");
}

// ---- progress ---------------------------------------------------------------------------------------
TEST(Io, ProgressFormatDuration) {
  EXPECT_EQ(format_duration(0.42), "0.4s");
  EXPECT_EQ(format_duration(42.4), "42s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(59.7), "1m00s");  // rounds before choosing the unit
  EXPECT_EQ(format_duration(2 * 3600 + 3 * 60 + 10), "2h03m");
  EXPECT_EQ(format_duration(3 * 86400 + 4 * 3600), "3d04h");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(std::nan("")), "?");
}

TEST(Io, ProgressLogModePrintsOnlyTheFinalLineForShortJobs) {
  std::ostringstream os;  // not a terminal
  ProgressBar bar("epoch 1", 10, os);
  EXPECT_FALSE(bar.terminal());
  for (int i = 1; i <= 5; ++i) bar.update(i, "loss=0.5");
  EXPECT_EQ(os.str(), "");  // at most one line per ~5 s
  std::string mid = bar.line();
  EXPECT_HAS(mid, "epoch 1 5/10 (50%) ");
  EXPECT_HAS(mid, "/s elapsed ");
  EXPECT_HAS(mid, " eta ");
  EXPECT_HAS(mid, "loss=0.5");
  bar.update(10, "loss=0.25");
  bar.finish();
  bar.finish();  // once only
  std::string out = os.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_EQ(out.rfind("epoch 1 10/10 (100%) ", 0), 0u) << out;
  EXPECT_HAS(out, "loss=0.25\n");
  EXPECT_EQ(out.find("eta"), std::string::npos) << out;
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
}

TEST(Io, ProgressTerminalModeRedrawsOneLineThrottled) {
  std::ostringstream os;
  {
    ProgressBar bar("scoring", -1, os);  // unknown total
    bar.set_terminal(true);
    for (int i = 1; i <= 1000; ++i) bar.update(i, "");
    std::string out = os.str();
    EXPECT_EQ(out.rfind("\rscoring 1 ", 0), 0u) << out;  // the first update draws at once
    EXPECT_LT(std::count(out.begin(), out.end(), '\r'), 50) << "redraws are throttled to ~10/s";
    EXPECT_EQ(out.find('\n'), std::string::npos);
    EXPECT_EQ(out.find('%'), std::string::npos);  // no percent without a total
  }  // destroyed without finish(): the half-drawn line is ended
  EXPECT_EQ(os.str().back(), '\n');
}

// ---- atomic files and staging folders ---------------------------------------------------------------
TEST(Io, WriteTextAtomicReplacesWholeFile) {
  TempDir d;
  std::string p = d.path("r.json");
  write_text_atomic(p, "a much longer first version");
  write_text_atomic(p, std::string("v2\0bin", 6));
  EXPECT_EQ(read_bytes(p), std::string("v2\0bin", 6));
  EXPECT_FALSE(fs::exists(p + ".tmp"));
  EXPECT_HAS(error_of([&] { write_text_atomic(d.path("no/such/dir/x"), "x"); }), "write_text_atomic: cannot create");
}

TEST(Io, StagingDirCommitRenamesToFinal) {
  TempDir d;
  std::string final_dir = d.path("run1");
  {
    StagingDir s(final_dir);
    EXPECT_EQ(s.path(), final_dir + ".partial-" + std::to_string(::getpid()));
    EXPECT_TRUE(fs::is_directory(s.path()));
    EXPECT_FALSE(fs::exists(final_dir));  // nothing looks finished while it runs
    write_text_atomic(s.file("metrics.json"), "{}");
    s.commit();
    EXPECT_TRUE(s.committed());
  }
  EXPECT_EQ(read_bytes(final_dir + "/metrics.json"), "{}");
  EXPECT_FALSE(fs::exists(final_dir + ".partial-" + std::to_string(::getpid())));
}

TEST(IoErrors, StagingDirRemovesPartialDirOnFailure) {
  TempDir d;
  std::string final_dir = d.path("run2"), partial;
  write_text_atomic(d.path("neighbour.txt"), "keep me");
  try {
    StagingDir s(final_dir);
    partial = s.path();
    write_text_atomic(s.file("model.safetensors"), "half written");
    fs::create_directories(s.file("sub/dir"));
    throw Error("training diverged");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "training diverged");
  }
  ASSERT_FALSE(partial.empty());
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(final_dir));
  EXPECT_EQ(read_bytes(d.path("neighbour.txt")), "keep me");  // nothing else is removed
}

// Another run finished under the same name first (two runs started in the same second): commit takes the
// next free numbered name and never touches the existing folders.
TEST(Io, StagingDirCommitTakesTheNextFreeName) {
  TempDir d;
  const std::string final_dir = d.path("20261201-052000");
  fs::create_directories(final_dir);
  write_text_atomic(final_dir + "/old.txt", "old");
  fs::create_directories(final_dir + "-2");  // an empty folder of the next name is skipped too
  {
    StagingDir s(final_dir);
    write_text_atomic(s.file("new.txt"), "new");
    s.commit();
    EXPECT_TRUE(s.committed());
    EXPECT_EQ(s.final_path(), final_dir + "-3");
  }
  EXPECT_EQ(read_bytes(final_dir + "/old.txt"), "old");
  EXPECT_TRUE(fs::is_empty(final_dir + "-2"));
  EXPECT_EQ(read_bytes(final_dir + "-3/new.txt"), "new");
  EXPECT_FALSE(fs::exists(final_dir + ".partial-" + std::to_string(::getpid())));
}
