// Checked arithmetic for every size that comes from outside the program (file headers, shapes, offsets,
// counts, settings, command-line numbers): a wrapped-around product must become an error that names the
// quantity and the limit, never a small number that passes a size check and is then indexed past.
//
//   int64_t n = checked_numel(dims, "load_npy", path + ": shape");
//     -> "load_npy: f.npy: shape 4 x 4611686018427387905 overflows the 64-bit element count"
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ad {

// a * b and a + b for non-negative a, b; an ad::Error "op: what: a x b overflows <limit_name>" when the
// result would exceed `limit` (default: INT64_MAX).
int64_t checked_mul(int64_t a, int64_t b, const char* op, const std::string& what,
                    int64_t limit = INT64_MAX, const char* limit_name = "64-bit range");
int64_t checked_add(int64_t a, int64_t b, const char* op, const std::string& what,
                    int64_t limit = INT64_MAX, const char* limit_name = "64-bit range");

// Largest element count a tensor may have: its byte size (8 bytes per element at most) must fit in int64.
inline constexpr int64_t kMaxTensorElements = INT64_MAX / 8;

// Product of `dims` (each >= 0), refusing one that passes kMaxTensorElements.
int64_t checked_numel(const std::vector<int64_t>& dims, const char* op, const std::string& what);

// "4 x 4611686018427387905" (the dims as the errors print them).
std::string dims_text(const std::vector<int64_t>& dims);

// The machine's physical memory in bytes (sysconf), or 0 when unknown.
uint64_t physical_memory_bytes();
// Refuses an estimated need over the physical memory before anything is allocated:
// "op: what need about 12.5 GiB, this machine has 7.8 GiB".
void check_fits_in_memory(uint64_t bytes, const char* op, const std::string& what);

// Parses a whole decimal integer (optional sign, no spaces, no trailing text) into [lo, hi].
// Errors name `what` ("--epochs") and the range.
int64_t parse_int_in_range(const std::string& text, int64_t lo, int64_t hi, const char* op, const std::string& what);

}  // namespace ad
