#include "runtime/zip.h"

#include <zlib.h>

#include <cstdint>
#include <algorithm>
#include <cstring>

#include "runtime/error.h"
#include "runtime/fs_util.h"

namespace ad {
namespace {

constexpr uint32_t kEndOfDirectory = 0x06054b50, kDirectoryEntry = 0x02014b50, kLocalHeader = 0x04034b50;

uint32_t u16(const std::string& b, size_t at) {
  return uint32_t(uint8_t(b[at])) | uint32_t(uint8_t(b[at + 1])) << 8;
}
uint32_t u32(const std::string& b, size_t at) { return u16(b, at) | u16(b, at + 2) << 16; }

struct Entry {
  std::string name;
  uint32_t flags = 0, method = 0, crc = 0, packed = 0, size = 0, local_offset = 0;
};

// The central directory, found through the end-of-central-directory record (searched backwards past a
// possible archive comment).
std::vector<Entry> directory(const std::string& b, const std::string& path) {
  const char* op = "zip";
  AD_CHECK(b.size() >= 22, op, path, ": not a zip archive (", b.size(), " bytes)");
  size_t eocd = std::string::npos;
  const size_t lowest = b.size() > 22 + 65535 ? b.size() - 22 - 65535 : 0;
  for (size_t at = b.size() - 22 + 1; at-- > lowest;)
    if (u32(b, at) == kEndOfDirectory) {
      eocd = at;
      break;
    }
  AD_CHECK(eocd != std::string::npos, op, path, ": not a zip archive (no end-of-central-directory record)");
  const uint32_t count = u16(b, eocd + 10), dir_size = u32(b, eocd + 12), dir_offset = u32(b, eocd + 16);
  AD_CHECK(count != 0xffff && dir_offset != 0xffffffffu, op, path, ": ZIP64 archives are not supported");
  AD_CHECK(size_t(dir_offset) + dir_size <= eocd, op, path, ": corrupt central directory");
  std::vector<Entry> out;
  size_t at = dir_offset;
  for (uint32_t i = 0; i < count; ++i) {
    AD_CHECK(at + 46 <= eocd && u32(b, at) == kDirectoryEntry, op, path, ": corrupt central directory entry ", i);
    Entry e;
    e.flags = u16(b, at + 8);
    e.method = u16(b, at + 10);
    e.crc = u32(b, at + 16);
    e.packed = u32(b, at + 20);
    e.size = u32(b, at + 24);
    const uint32_t name_len = u16(b, at + 28), extra_len = u16(b, at + 30), comment_len = u16(b, at + 32);
    e.local_offset = u32(b, at + 42);
    AD_CHECK(at + 46 + name_len <= eocd, op, path, ": corrupt central directory entry ", i);
    e.name = b.substr(at + 46, name_len);
    AD_CHECK(e.packed != 0xffffffffu && e.size != 0xffffffffu && e.local_offset != 0xffffffffu, op, path, ": ",
             e.name, ": ZIP64 members are not supported");
    out.push_back(std::move(e));
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

std::string extract(const std::string& b, const Entry& e, const std::string& path, const ZipLimits& limits) {
  const char* op = "zip";
  const std::string where = path + ": " + e.name;
  AD_CHECK(!(e.flags & 1u), op, where, ": encrypted members are not supported");
  size_t at = e.local_offset;
  AD_CHECK(at + 30 <= b.size() && u32(b, at) == kLocalHeader, op, where, ": corrupt local header");
  const size_t data = at + 30 + u16(b, at + 26) + u16(b, at + 28);
  AD_CHECK(data + e.packed <= b.size(), op, where, ": truncated archive (", e.packed, " packed bytes expected)");
  AD_CHECK(e.size <= limits.max_member_bytes, op, where, ": declares ", e.size, " bytes, over the ",
           limits.max_member_bytes, "-byte limit on one member");
  AD_CHECK(e.method == 0 || uint64_t(e.size) <= std::max<uint64_t>(e.packed, 1) * limits.max_ratio, op, where,
           ": declares ", e.size, " bytes from ", e.packed, " packed bytes, over the ", limits.max_ratio,
           ":1 limit on the compression ratio");
  std::string out;
  if (e.method == 0) {
    AD_CHECK(e.packed == e.size, op, where, ": stored member with packed size ", e.packed, " != size ", e.size);
    out = b.substr(data, e.size);
  } else if (e.method == 8) {
    // Inflate into a buffer one byte longer than declared: a stream that fills it produces more than the
    // archive says, which is refused instead of read whole. Within the caps above, so the allocation is bounded.
    out.resize(size_t(e.size) + 1);
    z_stream zs;
    std::memset(&zs, 0, sizeof zs);
    AD_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, op, where, ": inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(b.data() + data));
    zs.avail_in = e.packed;
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = uInt(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    const uLong produced = zs.total_out;
    inflateEnd(&zs);
    AD_CHECK(produced <= e.size, op, where, ": inflates past its declared size of ", e.size, " bytes");
    AD_CHECK(rc == Z_STREAM_END && produced == e.size, op, where, ": corrupt deflate data (zlib code ", rc, ", ",
             produced, " of ", e.size, " declared bytes)");
    out.resize(e.size);
  } else {
    AD_FAIL(op, where, ": compression method ", e.method, " is not supported (stored and deflate are)");
  }
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(out.data()), uInt(out.size()));
  AD_CHECK(crc == e.crc, op, where, ": CRC-32 mismatch (archive damaged)");
  return out;
}

}  // namespace

std::vector<std::string> zip_members(const std::string& zip_path) {
  std::vector<std::string> names;
  for (const Entry& e : directory(read_file_bytes(zip_path, "zip"), zip_path)) names.push_back(e.name);
  return names;
}

std::string read_zip_member(const std::string& zip_path, const std::string& member, const ZipLimits& limits) {
  const std::string b = read_file_bytes(zip_path, "zip");
  std::vector<Entry> entries = directory(b, zip_path);
  std::vector<const Entry*> files;
  for (const Entry& e : entries)
    if (e.name.empty() || e.name.back() != '/') files.push_back(&e);  // skip folder entries
  if (member.empty()) {
    AD_CHECK(files.size() == 1, "zip", zip_path, ": expected one member, found ", files.size(),
             " (name the one to read)");
    return extract(b, *files[0], zip_path, limits);
  }
  for (const Entry* e : files)
    if (e->name == member) return extract(b, *e, zip_path, limits);
  AD_FAIL("zip", zip_path, ": no member named \"", member, "\"");
}

std::string read_maybe_zipped(const std::string& path, const char* op, const ZipLimits& limits) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".zip") == 0) return read_zip_member(path, "", limits);
  return read_file_bytes(path, op);
}

}  // namespace ad
