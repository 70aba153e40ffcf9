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

void for_each_jsonl_line(const std::string& path,
                         const std::function<void(const nlohmann::json&, const std::string& where)>& fn) {
  std::ifstream in(path);
  if (!in) fail(path, ": cannot open");
  std::string line;
  for (int64_t no = 1; std::getline(in, line); ++no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      fail(where, ": malformed JSON: ", e.what());
    }
    fn(j, where);
  }
}

}  // namespace glassbox
