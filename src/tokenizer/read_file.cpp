#include "tokenizer/read_file.h"

#include <fstream>
#include <sstream>

#include "glassbox/error.h"

namespace glassbox::detail {

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("tokenizer: cannot open '", path, "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace glassbox::detail
