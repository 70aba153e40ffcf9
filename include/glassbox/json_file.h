// Reading a JSON file with errors that name it.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace glassbox {

// Error "<path>: cannot open" / "<path>: malformed JSON: ..." on failure.
nlohmann::json read_json_file(const std::string& path);

}  // namespace glassbox
