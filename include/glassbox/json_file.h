// Reading a JSON file, or a JSON Lines file, with errors that name it.
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace glassbox {

// Error "<path>: cannot open" / "<path>: malformed JSON: ..." on failure.
nlohmann::json read_json_file(const std::string& path);

// Calls fn(value, where) for each non-blank line of a JSON Lines file, where
// = "<path>:<line>" for the caller's own errors. Error "<path>: cannot open" /
// "<path>:<line>: malformed JSON: ..." on failure.
void for_each_jsonl_line(const std::string& path,
                         const std::function<void(const nlohmann::json&, const std::string& where)>& fn);

}  // namespace glassbox
