#include "glassbox/enum_string.h"

#include "glassbox/error.h"

namespace glassbox::enum_table {

void unknown(std::string_view text, const char* what, const std::string& choices) {
  fail(what, " '", text, "' is not one of ", choices);
}

}  // namespace glassbox::enum_table
