// Hostile input at the loaders: checked sizes, JSON depth and duplicate keys, npy/safetensors/zip/CSR
// structure, settings ranges, RFC 4180 round trips. The file-level cases (one file per case, run through
// the programs and a loader driver) are in tests/bad_inputs/; these check the helpers and the messages.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "runtime/checked.h"
#include "runtime/csr.h"
#include "runtime/csv.h"
#include "runtime/json.h"
#include "runtime/npy.h"
#include "runtime/safetensors.h"
#include "runtime/settings.h"
#include "runtime/zip.h"
#include "tests/support/helpers.h"

using namespace ad;
namespace fs = std::filesystem;
using ad::test::error_of;
using ad::test::TempDir;

#define EXPECT_HAS(msg, part) EXPECT_NE((msg).find(part), std::string::npos) << "message: " << (msg)

namespace {

std::string npy(const std::string& dict, const std::string& data) {
  std::string out = std::string("\x93NUMPY", 6) + char(1) + '\0';
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  return out + dict + data;
}

std::string safetensors(const std::string& header, size_t data_bytes) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header + std::string(data_bytes, '\0');
}

void put16(std::string& s, uint32_t v) {
  s += char(v & 0xff);
  s += char((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

// A one-member deflate archive whose central directory declares `declared_size` inflated bytes.
std::string zip_of(const std::string& content, uint32_t declared_size) {
  uLongf cap = compressBound(uLong(content.size())) + 64;
  std::string packed(cap, '\0');
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
  zs.avail_in = uInt(content.size());
  zs.next_out = reinterpret_cast<Bytef*>(packed.data());
  zs.avail_out = uInt(cap);
  deflate(&zs, Z_FINISH);
  packed.resize(zs.total_out);
  deflateEnd(&zs);
  const uint32_t crc = uint32_t(crc32(0, reinterpret_cast<const Bytef*>(content.data()), uInt(content.size())));
  const std::string name = "m.txt";
  std::string z;
  put32(z, 0x04034b50); put16(z, 20); put16(z, 0); put16(z, 8); put32(z, 0); put32(z, crc);
  put32(z, uint32_t(packed.size())); put32(z, declared_size); put16(z, uint32_t(name.size())); put16(z, 0);
  z += name + packed;
  const uint32_t dir_at = uint32_t(z.size());
  put32(z, 0x02014b50); put16(z, 20); put16(z, 20); put16(z, 0); put16(z, 8); put32(z, 0); put32(z, crc);
  put32(z, uint32_t(packed.size())); put32(z, declared_size); put16(z, uint32_t(name.size()));
  put16(z, 0); put16(z, 0); put16(z, 0); put16(z, 0); put32(z, 0); put32(z, 0);
  z += name;
  const uint32_t dir_size = uint32_t(z.size()) - dir_at;
  put32(z, 0x06054b50); put16(z, 0); put16(z, 0); put16(z, 1); put16(z, 1); put32(z, dir_size); put32(z, dir_at);
  put16(z, 0);
  return z;
}
}  // namespace

TEST(Checked, ProductsAndSumsOverflowIntoErrorsNamingTheLimit) {
  EXPECT_EQ(checked_mul(1 << 20, 1 << 20, "op", "x"), int64_t(1) << 40);
  EXPECT_EQ(checked_add(INT64_MAX - 1, 1, "op", "x"), INT64_MAX);
  EXPECT_HAS(error_of([] { checked_mul(int64_t(1) << 32, int64_t(1) << 32, "op", "rows x cols"); }),
             "op: rows x cols: 4294967296 x 4294967296 overflows 64-bit range");
  EXPECT_HAS(error_of([] { checked_add(INT64_MAX, 1, "op", "offset"); }), "overflows");
  EXPECT_HAS(error_of([] { checked_mul(-1, 2, "op", "n"); }), "negative size -1");
  EXPECT_HAS(error_of([] { checked_mul(10, 10, "op", "n", 50, "the 50-row cap"); }), "overflows the 50-row cap (50)");
  EXPECT_EQ(checked_numel({4, 0, INT64_MAX}, "op", "shape"), 0);
  EXPECT_HAS(error_of([] { checked_numel({4, 4611686018427387905}, "load_npy", "f.npy: shape"); }),
             "load_npy: f.npy: shape 4 x 4611686018427387905 overflows the 64-bit element count");
  EXPECT_HAS(error_of([] { Shape({int64_t(1) << 40, int64_t(1) << 30}); }), "overflows the 64-bit element count");
  EXPECT_EQ(parse_int_in_range("+12", 1, 20, "op", "--epochs"), 12);
  EXPECT_HAS(error_of([] { parse_int_in_range("0", 1, 20, "op", "--epochs"); }), "--epochs: 0 is out of range [1, 20]");
  EXPECT_HAS(error_of([] { parse_int_in_range("99999999999999999999", 1, 20, "op", "--epochs"); }), "out of range");
  EXPECT_HAS(error_of([] { parse_int_in_range("1e3", 1, 2000, "op", "--epochs"); }), "is not an integer");
  EXPECT_HAS(error_of([] { parse_int_in_range("", 1, 20, "op", "--epochs"); }), "is not an integer");
  EXPECT_HAS(error_of([] { check_fits_in_memory(UINT64_MAX / 2, "op", "the batch"); }), "op: the batch need about");
}

TEST(HostileJson, DepthIsLimitedBeforeParsingAndDuplicateKeysAreErrors) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  EXPECT_HAS(error_of([&] { parse_json_checked(deep, "op", "f.json"); }),
             "op: f.json: JSON nested deeper than 64 levels at byte 64");
  // Brackets inside strings and comments do not count.
  JsonOptions comments;
  comments.allow_comments = true;
  auto j = parse_json_checked("{\"a\": \"" + std::string(100, '[') + "\" /* {{{{ " + std::string(100, '{') +
                                  " */, \"b\": [[1]]}",
                              "op", "f.json", comments);
  EXPECT_EQ(j["b"][0][0], 1);
  EXPECT_HAS(error_of([] { parse_json_checked(R"({"lr": 1, "m": {"x": 1}, "lr": 2})", "op", "s.json"); }),
             "op: s.json: key \"lr\" appears twice in one object");
  EXPECT_HAS(error_of([] { parse_json_checked(R"({"m": {"x": 1, "x": 2}})", "op", "s.json"); }), "key \"x\" appears twice");
  // The same key in two different objects is fine.
  EXPECT_EQ(parse_json_checked(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]})", "op", "s")["c"][1]["x"], 4);
  EXPECT_HAS(error_of([] { parse_json_checked("{\"a\": ", "op", "s.json"); }), "op: s.json: invalid JSON at byte");
}

TEST(HostileSettings, RangesAndDuplicateKeysInSettingsFiles) {
  TempDir d;
  SettingsReader r(nlohmann::json{{"decay_step", 0}, {"alpha", 0.5}, {"widths", {4, 1 << 30}}}, "s.json");
  EXPECT_HAS(error_of([&] { r.get_int_in("decay_step", 7, 1, 100); }),
             "settings s.json: key \"decay_step\" must be in [1, 100], got 0");
  EXPECT_DOUBLE_EQ(r.get_number_in("alpha", 0.1, 0, 1), 0.5);
  EXPECT_HAS(error_of([&] { r.get_int_list_in("widths", {}, 1, 1 << 20, 8); }), "entry 1 must be in [1, 1048576]");
  EXPECT_HAS(error_of([&] { r.get_int_list_in("widths", {}, 1, 1 << 30, 1); }), "has 2 entries, at most 1");
  SettingsReader nan_reader(nlohmann::json{{"lr", std::nan("")}}, "n.json");
  EXPECT_HAS(error_of([&] { nan_reader.get_number_in("lr", 1, 0, 1); }), "must be in [0, 1]");
  const std::string dup = d.write("dup.json", "{\n  \"epochs\": 3,\n  // a comment\n  \"epochs\": 4\n}\n");
  EXPECT_HAS(error_of([&] { load_json_file(dup); }), "load_json_file: " + dup + ": key \"epochs\" appears twice");
}

TEST(HostileNpy, DeclaredShapesThatOverflowOrExceedTheFileAreRefused) {
  TempDir d;
  // 4 x (2^62 + 1) elements wraps to 4 in 64 bits: the old check passed and the copy read past the file.
  const std::string p = d.write("features.npy",
                                npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4611686018427387905), }\n",
                                    std::string(16, '\0')));
  EXPECT_HAS(error_of([&] { load_npy(p); }), p + ": shape 4 x 4611686018427387905 overflows the 64-bit element count");
  const std::string big = d.write("big.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }\n", ""));
  EXPECT_HAS(error_of([&] { load_npy(big); }), "out of range");
  const std::string six = d.write("six.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1), }\n", "xxxx"));
  EXPECT_HAS(error_of([&] { load_npy(six); }), "more than 5 dims");
  std::string huge_header = std::string("\x93NUMPY", 6) + char(2) + '\0';
  put32(huge_header, 20000);
  huge_header += std::string(20000, ' ');
  EXPECT_HAS(error_of([&] { load_npy(d.write("hdr.npy", huge_header)); }), "header length 20000 is over the 10000-byte limit");
}

TEST(HostileSafetensors, OffsetsMustTileTheDataExactly) {
  TempDir d;
  auto load = [&](const std::string& header, size_t bytes) {
    return error_of([&] { load_safetensors(d.write("t.safetensors", safetensors(header, bytes))); });
  };
  EXPECT_HAS(load(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
             "tensor \"b\": data_offsets [4, 12) overlap the previous tensor's data (which ends at 8)");
  EXPECT_HAS(load(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8), "leave bytes [0, 4) of the data unused");
  EXPECT_HAS(load(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 8), "4 data bytes after the last tensor");
  EXPECT_HAS(load(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
             "key \"a\" appears twice");
  EXPECT_HAS(load(R"({"a":{"dtype":"F32","shape":[4, 4611686018427387905],"data_offsets":[0,16]}})", 16),
             "overflows the 64-bit element count");
  EXPECT_HAS(load(R"({"a":{"dtype":"F32","shape":[18446744073709551615],"data_offsets":[0,16]}})", 16),
             "non-negative 64-bit integers");
  EXPECT_HAS(load("{\"__metadata__\":" + std::string(1000, '[') + std::string(1000, ']') + "}", 0),
             "header: JSON nested deeper than 64 levels");
  // A file that tiles: two tensors in reverse order, one empty.
  auto ok = load_safetensors(d.write(
      "ok.safetensors",
      safetensors(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[6,6]}})", 6)));
  EXPECT_EQ(ok.size(), 3u);
}

TEST(HostileZip, DeclaredSizesAndRatiosAreCappedBeforeInflating) {
  TempDir d;
  const std::string text(100000, 'a');  // deflates about 1000:1
  const std::string bomb = d.write("bomb.zip", zip_of(text, uint32_t(text.size())));
  EXPECT_HAS(error_of([&] { read_zip_member(bomb); }), ":1 limit on the compression ratio");
  ZipLimits loose;
  loose.max_ratio = 5000;
  EXPECT_EQ(read_zip_member(bomb, "", loose), text);
  ZipLimits small;
  small.max_member_bytes = 1000;
  small.max_ratio = 5000;
  EXPECT_HAS(error_of([&] { read_zip_member(bomb, "", small); }), "declares 100000 bytes, over the 1000-byte limit");
  // Declares 4 GiB - 2 from a few hundred bytes: refused before anything is allocated.
  const std::string liar = d.write("liar.zip", zip_of("hello", 0xfffffffeu));
  EXPECT_HAS(error_of([&] { read_zip_member(liar); }), "declares 4294967294 bytes");
  // Declares fewer bytes than it inflates to.
  const std::string shorter = d.write("short.zip", zip_of(std::string(300, 'b') + "xyz", 10));
  EXPECT_HAS(error_of([&] { read_zip_member(shorter, "", loose); }), "inflates past its declared size of 10 bytes");
}

TEST(HostileCsr, TheNpyTrioIsValidatedInFull) {
  TempDir d;
  auto arr = [&](const std::string& name, const std::string& descr, const std::string& data, size_t n) {
    return d.write(name, npy("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + std::to_string(n) +
                                 ",), }\n",
                             data));
  };
  auto i64 = [](std::vector<int64_t> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8); };
  auto f32 = [](std::vector<float> v) { return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4); };
  const std::string ix = arr("ix.npy", "<i8", i64({1, 0, 1}), 3), dv = arr("dv.npy", "<f4", f32({1, 2, 3}), 3);
  // 2 x 2: row 0 has column 1, row 1 has columns 0 and 1.
  CsrMatrix m = load_csr_npy(arr("ip.npy", "<i8", i64({0, 1, 3}), 3), ix, dv, 2, 2);
  EXPECT_EQ(csr_to_dense(m).to_vector(), (std::vector<double>{0, 1, 2, 3}));
  EXPECT_HAS(error_of([&] { load_csr_npy(arr("a.npy", "<i8", i64({0, 2, 1}), 3), ix, dv, 2, 2); }),
             "a.npy: [2] = 1 is less than [1] = 2 (must never decrease)");
  EXPECT_HAS(error_of([&] { load_csr_npy(arr("b.npy", "<i8", i64({1, 2, 3}), 3), ix, dv, 2, 2); }), "b.npy: [0] is 1, expected 0");
  EXPECT_HAS(error_of([&] { load_csr_npy(arr("c.npy", "<i8", i64({0, 1, 9}), 3), ix, dv, 2, 2); }),
             "c.npy: [2] = 9, expected the number of indices 3");
  EXPECT_HAS(error_of([&] { load_csr_npy(arr("e.npy", "<i8", i64({0, -5, 3}), 3), ix, dv, 2, 2); }), "must never decrease");
  EXPECT_HAS(error_of([&] { load_csr_npy(arr("f.npy", "<f4", f32({0, 1, 3}), 3), ix, dv, 2, 2); }),
             "f.npy: expected a 1-d integer array");
  const std::string ip = arr("ip2.npy", "<i8", i64({0, 1, 3}), 3);
  EXPECT_HAS(error_of([&] { load_csr_npy(ip, arr("g.npy", "<i8", i64({1, 0, 2}), 3), dv, 2, 2); }),
             "g.npy: [2] = 2 is outside [0, 2)");
  EXPECT_HAS(error_of([&] { load_csr_npy(ip, ix, arr("h.npy", "<f4", f32({1, NAN, 3}), 3), 2, 2); }),
             "h.npy: [1] is nan (values must be finite)");
  EXPECT_HAS(error_of([&] { load_csr_npy(ip, ix, arr("k.npy", "<f4", f32({1, 2}), 2), 2, 2); }), "k.npy: 2 values");
  EXPECT_HAS(error_of([&] { load_csr_npy(ip, ix, dv, 3, 2); }), "3 entries, expected rows + 1 = 4");
}

TEST(HostileCsv, QuotedIdsWithCommasQuotesAndNewlinesRoundTrip) {
  TempDir d;
  const std::vector<std::string> ids = {"plain", "a,b", "say \"hi\"", "two\nlines", "cr\r\nlf", " padded ", ""};
  std::vector<double> score;
  for (size_t i = 0; i < ids.size(); ++i) score.push_back(double(i) + 0.5);
  const std::string p = d.path("ids.csv");
  write_csv_atomic(p, {"trace,id", "score \"s\""}, ids, {score});
  CsvTable t = read_csv(p);
  EXPECT_EQ(t.header, (std::vector<std::string>{"trace,id", "score \"s\""}));
  EXPECT_EQ(t.first_column, ids);
  EXPECT_EQ(t.columns[0], score);
  for (const auto& id : ids)
    if (!id.empty()) {
      EXPECT_EQ(csv_quote(id) == id, id.find_first_of(",\"\r\n ") == std::string::npos) << id;
    }
  // An error after a multi-line field names the line the record starts on.
  const std::string bad = d.write("bad.csv", "id,v\n\"x\ny\",1\nz,oops\n");
  EXPECT_HAS(error_of([&] { read_csv(bad); }), "bad.csv line 4, column 2 (\"v\"): not a number \"oops\"");
  EXPECT_HAS(error_of([&] { read_csv(d.write("open.csv", "id,v\n\"never closed,1\n")); }), "line 2: unterminated quote");
}
