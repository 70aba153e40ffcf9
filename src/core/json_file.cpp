#include "glassbox/json_file.h"

#include <fstream>

#include "glassbox/error.h"

namespace glassbox {

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    fail(path, ": malformed JSON: ", e.what());
  }
}

}  // namespace glassbox
