#include "runtime/checked.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "runtime/error.h"

namespace ad {

int64_t checked_mul(int64_t a, int64_t b, const char* op, const std::string& what, int64_t limit,
                    const char* limit_name) {
  AD_CHECK(a >= 0 && b >= 0, op, what, ": negative size ", a < 0 ? a : b);
  int64_t r = 0;
  AD_CHECK(!__builtin_mul_overflow(a, b, &r) && r <= limit, op, what, ": ", a, " x ", b, " overflows ", limit_name,
           " (", limit, ")");
  return r;
}

int64_t checked_add(int64_t a, int64_t b, const char* op, const std::string& what, int64_t limit,
                    const char* limit_name) {
  AD_CHECK(a >= 0 && b >= 0, op, what, ": negative size ", a < 0 ? a : b);
  int64_t r = 0;
  AD_CHECK(!__builtin_add_overflow(a, b, &r) && r <= limit, op, what, ": ", a, " + ", b, " overflows ", limit_name,
           " (", limit, ")");
  return r;
}

std::string dims_text(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? " x " : "") + std::to_string(dims[i]);
  return dims.empty() ? "()" : s;
}

int64_t checked_numel(const std::vector<int64_t>& dims, const char* op, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    AD_CHECK(d >= 0, op, what, " ", dims_text(dims), ": negative extent ", d);
    if (__builtin_mul_overflow(n, d, &n) || n > kMaxTensorElements) {
      // Zero anywhere makes the product 0, however large the rest; only then is it not an overflow.
      for (int64_t z : dims)
        if (z == 0) return 0;
      AD_FAIL(op, what, " ", dims_text(dims), " overflows the 64-bit element count (at most ", kMaxTensorElements,
              " elements)");
    }
  }
  return n;
}

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

void check_fits_in_memory(uint64_t bytes, const char* op, const std::string& what) {
  const uint64_t have = physical_memory_bytes();
  auto gib = [](uint64_t b) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GiB", double(b) / double(1ull << 30));
    return std::string(buf);
  };
  AD_CHECK(have == 0 || bytes <= have, op, what, " need about ", gib(bytes), ", this machine has ", gib(have),
           " of memory");
}

int64_t parse_int_in_range(const std::string& text, int64_t lo, int64_t hi, const char* op, const std::string& what) {
  int64_t v = 0;
  const char* b = text.data() + (!text.empty() && text[0] == '+' ? 1 : 0);
  auto [end, ec] = std::from_chars(b, text.data() + text.size(), v);
  AD_CHECK(ec != std::errc::result_out_of_range, op, what, ": \"", text, "\" is out of range [", lo, ", ", hi, "]");
  AD_CHECK(ec == std::errc() && end == text.data() + text.size() && !text.empty(), op, what, ": \"", text,
           "\" is not an integer");
  AD_CHECK(v >= lo && v <= hi, op, what, ": ", v, " is out of range [", lo, ", ", hi, "]");
  return v;
}

}  // namespace ad
