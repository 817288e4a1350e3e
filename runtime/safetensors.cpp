#include "runtime/safetensors.h"

#include <bit>
#include <cstring>
#include <algorithm>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "runtime/checked.h"
#include "runtime/error.h"
#include "runtime/json.h"
#include "runtime/fs_util.h"

namespace ad {

// The format is little-endian; tensors are copied byte for byte, which is only right on such hosts.
static_assert(std::endian::native == std::endian::little, "safetensors IO assumes a little-endian host");

using json = nlohmann::json;

// The reference implementation's limit (safetensors MAX_HEADER_SIZE).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

const char* safetensors_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

namespace {
bool parse_dtype(const std::string& s, DType& out) {
  for (DType t : {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8})
    if (s == safetensors_dtype_name(t)) { out = t; return true; }
  return false;
}
}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const char* op = "save_safetensors";
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    AD_CHECK(!name.empty() && name != "__metadata__", op, path, ": invalid tensor name \"", name, "\"");
    AD_CHECK(!header.contains(name), op, path, ": tensor name \"", name, "\" appears twice");
    AD_CHECK(t.defined(), op, path, ": tensor \"", name, "\" is undefined");
    host.push_back(t.is_device() ? t.to(Device::CPU) : t);
    header[name] = {{"dtype", safetensors_dtype_name(t.dtype())},
                    {"shape", t.shape().to_vector()},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned, as the reference writer does
  std::string out(8, '\0');
  uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  out.reserve(8 + text.size() + offset);
  out += text;
  for (const Tensor& t : host) out.append(static_cast<const char*>(t.nbytes() ? t.raw() : nullptr), t.nbytes());
  write_text_atomic(path, out);
}

std::map<std::string, Tensor> load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata) {
  const char* op = "load_safetensors";
  const std::string bytes = read_file_bytes(path, op);
  AD_CHECK(bytes.size() >= 8, op, path, ": truncated file (", bytes.size(), " bytes, the header length needs 8)");
  uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  AD_CHECK(n <= bytes.size() - 8, op, path, ": truncated file (header length ", n, " but only ", bytes.size() - 8,
           " bytes follow)");
  AD_CHECK(n <= kMaxHeaderBytes, op, path, ": header length ", n, " is over the ", kMaxHeaderBytes,
           "-byte limit; not a safetensors file?");
  const json header = parse_json_checked(std::string_view(bytes).substr(8, n), op, path + ": header");
  AD_CHECK(header.is_object(), op, path, ": the header must be a JSON object");
  const char* data = bytes.data() + 8 + n;
  const uint64_t data_size = bytes.size() - 8 - n;

  std::map<std::string, Tensor> out;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> spans;  // [begin, end) of each tensor's data
  if (metadata) metadata->clear();
  for (const auto& item : header.items()) {
    const std::string name = item.key();  // not a structured binding: the lambda below captures it
    const json& e = item.value();
    if (name == "__metadata__") {
      AD_CHECK(e.is_object(), op, path, ": __metadata__ must be an object of strings");
      for (const auto& [k, v] : e.items()) {
        AD_CHECK(v.is_string(), op, path, ": __metadata__ value for \"", k, "\" must be a string, got ", v.dump());
        if (metadata) (*metadata)[k] = v.get<std::string>();
      }
      continue;
    }
    auto bad = [&](const std::string& why) { AD_FAIL(op, path, ": tensor \"", name, "\": ", why); };
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      bad("expected {\"dtype\", \"shape\", \"data_offsets\"}, got " + e.dump());
    DType dt = DType::F32;
    if (!e["dtype"].is_string() || !parse_dtype(e["dtype"].get<std::string>(), dt))
      bad("unsupported dtype " + e["dtype"].dump() + " (supported: F32, F64, I32, I64, U8)");
    const json& sh = e["shape"];
    if (!sh.is_array() || sh.size() > size_t(Shape::kMaxDims)) bad("shape must be a list of at most 5 sizes, got " + sh.dump());
    std::vector<int64_t> dims;
    for (const auto& d : sh) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t(INT64_MAX))
        bad("shape must hold non-negative 64-bit integers, got " + sh.dump());
      dims.push_back(d.get<int64_t>());
    }
    const uint64_t need = uint64_t(checked_numel(dims, op, path + ": tensor \"" + name + "\": shape")) * dtype_size(dt);
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      bad("data_offsets must be [begin, end], got " + off.dump());
    uint64_t b = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (b > end) bad("data_offsets " + off.dump() + " end before they begin");
    if (end > data_size)
      bad("truncated file: data [" + std::to_string(b) + ", " + std::to_string(end) + ") is past the end of the " +
          std::to_string(data_size) + " data bytes");
    Shape shape(dims);
    if (end - b != need)
      bad("data_offsets " + off.dump() + " hold " + std::to_string(end - b) + " bytes, shape " + shape.str() + " " +
          safetensors_dtype_name(dt) + " needs " + std::to_string(need));
    spans.emplace_back(b, end, name);
    Tensor t = Tensor::empty(shape, dt);
    if (t.nbytes()) std::memcpy(t.raw(), data + b, t.nbytes());
    out.emplace(name, std::move(t));
  }
  // As the reference reader: the tensors' data must tile the data section exactly, in some order, so that
  // no two tensors share bytes and no byte is unaccounted for.
  std::sort(spans.begin(), spans.end());
  uint64_t covered = 0;
  for (const auto& [b, end, name] : spans) {
    AD_CHECK(b >= covered, op, path, ": tensor \"", name, "\": data_offsets [", b, ", ", end,
             ") overlap the previous tensor's data (which ends at ", covered, ")");
    AD_CHECK(b == covered, op, path, ": tensor \"", name, "\": data_offsets [", b, ", ", end, ") leave bytes [",
             covered, ", ", b, ") of the data unused");
    covered = end;
  }
  AD_CHECK(covered == data_size, op, path, ": ", data_size - covered, " data bytes after the last tensor (offset ",
           covered, " of ", data_size, ") belong to no tensor");
  return out;
}

}  // namespace ad
