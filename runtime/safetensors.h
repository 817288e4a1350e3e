// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
// "__metadata__": {string: string}} padded with spaces, then the raw little-endian tensor bytes
// (offsets are relative to the first byte after the header). Supported dtypes: F32, F64, I32, I64, U8.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/tensor.h"

namespace ad {

// Tensors keep the given order in the file; CUDA tensors are copied to the host first. Written to
// path + ".tmp" and renamed, so an interrupted save never leaves a truncated checkpoint at `path`.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// All tensors as CPU tensors. A malformed or truncated file is an ad::Error naming the file and,
// where it applies, the tensor. `metadata` (optional) receives "__metadata__".
std::map<std::string, Tensor> load_safetensors(const std::string& path,
                                               std::map<std::string, std::string>* metadata = nullptr);

// "F32" <-> DType (safetensors names).
const char* safetensors_dtype_name(DType t);

}  // namespace ad
