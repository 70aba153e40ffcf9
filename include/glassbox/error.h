// glassbox::Error — the one exception type for everything a user can cause.
// Messages name the file / tensor / hook / argument and say what was expected.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace glassbox {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

// fail("safetensors: ", path, ": tensor '", name, "' ends past end of file")
template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(detail::cat(args...));
}

}  // namespace glassbox
