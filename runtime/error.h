// Errors are exceptions whose message names the op and the shapes involved.
// AD_CHECK(cond, "op", parts...) throws ad::Error("op: parts...") when cond is false.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ad {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Parts>
[[noreturn]] void throw_error(const char* op, const Parts&... parts) {
  std::ostringstream os;
  os << op << ": ";
  (os << ... << parts);
  throw Error(os.str());
}
}  // namespace detail

}  // namespace ad

#define AD_CHECK(cond, op, ...)                                  \
  do {                                                           \
    if (!(cond)) ::ad::detail::throw_error(op, __VA_ARGS__);     \
  } while (0)

#define AD_FAIL(op, ...) ::ad::detail::throw_error(op, __VA_ARGS__)
