// Whole-file reads for the tokenizer's text formats.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace glassbox::detail {

std::string read_text_file(const std::string& path);  // Error naming path if unreadable
nlohmann::json read_json_file(const std::string& path);  // Error naming path + parse error

}  // namespace glassbox::detail
