// NumPy .npy files (format versions 1.0, 2.0 and 3.0 read; 1.0 written, 2.0 when the header needs it):
// C-order, little-endian f32, f64, i32, i64 and u8, at most 5 dims, to and from CPU tensors.
#pragma once
#include <string>

#include "runtime/tensor.h"

namespace ad {

// Reads the whole array as a CPU tensor; anything else (bad magic, Fortran order, an unsupported or
// big-endian dtype, a truncated file) is an ad::Error naming the file.
Tensor load_npy(const std::string& path);

// Writes the tensor (copied from the GPU if needed) through a temporary file renamed onto `path`;
// the bytes match numpy.save for the same array.
void save_npy(const std::string& path, const Tensor& t);

}  // namespace ad
