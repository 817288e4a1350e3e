// Dynamic shared-memory sizes for launch configs: shared_array carves 16-byte aligned pieces
// (kernels/launch.h), so a launch asks for whole pieces even when a block is 1 or 2 threads wide.
#pragma once
#include <cstddef>

namespace ad {

// Bytes of dynamic shared memory for n floats, rounded up to whole 16-byte pieces.
inline size_t shared_floats(size_t n) { return (n * sizeof(float) + 15) / 16 * 16; }

}  // namespace ad
