#include "runtime/npy.h"

#include <bit>
#include <cstring>
#include <regex>

#include "runtime/checked.h"
#include "runtime/error.h"
#include "runtime/fs_util.h"

namespace ad {

static_assert(std::endian::native == std::endian::little, "npy IO assumes a little-endian host");

namespace {

const char kMagic[] = "\x93NUMPY";  // 6 bytes
constexpr uint32_t kMaxHeaderBytes = 10000;
// Compiled once: building a std::regex costs far more than matching a header.
const std::regex kDescr(R"('descr'\s*:\s*'([^']*)')"), kFortranOrder(R"('fortran_order'\s*:\s*(True|False))"),
    kShape(R"('shape'\s*:\s*\(([^)]*)\))"), kShapeItem(R"([^,\s]+)"), kDim(R"(\d+L?)");

const char* descr_of(DType t) {
  switch (t) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::U8: return "|u1";
  }
  return "?";
}

bool parse_descr(std::string d, DType& out) {
  if (d == "<u1" || d == "=u1") d = "|u1";  // byte order is meaningless for one byte
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8})
    if (d == descr_of(t)) { out = t; return true; }
  return false;
}

}  // namespace

Tensor load_npy(const std::string& path) {
  const char* op = "load_npy";
  const std::string bytes = read_file_bytes(path, op);
  AD_CHECK(bytes.size() >= 10 && bytes.compare(0, 6, kMagic, 6) == 0, op, path,
           ": not a .npy file (bad magic; expected \"\\x93NUMPY\" at the start)");
  const int major = uint8_t(bytes[6]);
  AD_CHECK(major >= 1 && major <= 3, op, path, ": unsupported .npy format version ", major, ".", int(uint8_t(bytes[7])));
  // v1: 2-byte header length; v2/v3: 4-byte (v3 only allows utf-8 in the header).
  const size_t len_bytes = major == 1 ? 2 : 4, start = 8 + len_bytes;
  AD_CHECK(bytes.size() >= start, op, path, ": truncated file (", bytes.size(), " bytes, no header length)");
  uint32_t hlen = 0;
  for (size_t i = 0; i < len_bytes; ++i) hlen |= uint32_t(uint8_t(bytes[8 + i])) << (8 * i);
  AD_CHECK(bytes.size() >= start + hlen, op, path, ": truncated file (header length ", hlen, " but only ",
           bytes.size() - start, " bytes follow)");
  // numpy.load refuses headers over 10000 bytes too (max_header_size); ours are under 128.
  AD_CHECK(hlen <= kMaxHeaderBytes, op, path, ": header length ", hlen, " is over the ", kMaxHeaderBytes,
           "-byte limit");
  const std::string header = bytes.substr(start, hlen);

  std::smatch m;
  AD_CHECK(std::regex_search(header, m, kDescr), op, path,
           ": header has no 'descr': ", header);
  const std::string descr = m[1];
  DType dt = DType::F32;
  AD_CHECK(parse_descr(descr, dt), op, path, ": unsupported dtype '", descr, "'",
           descr.size() && descr[0] == '>' ? " (big-endian)" : "", " (supported: <f4, <f8, <i4, <i8, |u1)");
  AD_CHECK(std::regex_search(header, m, kFortranOrder), op, path,
           ": header has no 'fortran_order': ", header);
  AD_CHECK(m[1] == "False", op, path, ": Fortran-order arrays are not supported (save with np.ascontiguousarray)");
  AD_CHECK(std::regex_search(header, m, kShape), op, path,
           ": header has no 'shape': ", header);
  std::vector<int64_t> dims;
  const std::string shape_text = m[1];
  for (std::sregex_iterator it(shape_text.begin(), shape_text.end(), kShapeItem), end; it != end; ++it) {
    const std::string s = it->str();
    AD_CHECK(std::regex_match(s, kDim), op, path, ": bad shape (", shape_text, ")");
    dims.push_back(parse_int_in_range(s.back() == 'L' ? s.substr(0, s.size() - 1) : s, 0, INT64_MAX, op,
                                      path + ": shape (" + shape_text + ")"));
    AD_CHECK(dims.size() <= size_t(Shape::kMaxDims), op, path, ": more than ", Shape::kMaxDims,
             " dims (shape (", shape_text, "))");
  }
  // Checked before anything is allocated: a wrapped-around product would pass the size check below.
  const int64_t numel = checked_numel(dims, op, path + ": shape");
  const uint64_t need = uint64_t(numel) * dtype_size(dt), have = bytes.size() - start - hlen;
  const Shape shape(dims);
  AD_CHECK(have >= need, op, path, ": truncated file (shape ", shape.str(), " ", descr, " needs ", need,
           " data bytes, the file has ", have, ")");
  AD_CHECK(have == need, op, path, ": ", have - need, " unexpected bytes after the data of shape ", shape.str());
  Tensor t = Tensor::empty(shape, dt);
  if (need) std::memcpy(t.raw(), bytes.data() + start + hlen, need);
  return t;
}

void save_npy(const std::string& path, const Tensor& tensor) {
  AD_CHECK(tensor.defined(), "save_npy", path, ": undefined tensor");
  const Tensor t = tensor.is_device() ? tensor.to(Device::CPU) : tensor;
  // Same text and padding as numpy: the data starts at a multiple of 64 bytes, the header ends in '\n'.
  std::string shape = "(";
  for (int i = 0; i < t.dim(); ++i) shape += (i ? ", " : "") + std::to_string(t.size(i));
  shape += t.dim() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr_of(t.dtype()) + "', 'fortran_order': False, 'shape': " +
                       shape + ", }";
  auto pad = [&](size_t prefix) { return 64 - (prefix + header.size() + 1) % 64; };  // numpy's rule
  const bool v2 = header.size() + 1 + pad(10) > 65535;
  header.append(pad(v2 ? 12 : 10), ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += char(v2 ? 2 : 1);
  out += char(0);
  const uint32_t hlen = uint32_t(header.size());
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) out += char((hlen >> (8 * i)) & 0xff);
  out += header;
  if (t.nbytes()) out.append(static_cast<const char*>(t.raw()), t.nbytes());
  write_text_atomic(path, out);
}

}  // namespace ad
