// Whole-file reads for the tokenizer's text formats (JSON files go through
// glassbox/json_file.h like every other JSON file).
#pragma once
#include <string>

namespace glassbox::detail {

std::string read_text_file(const std::string& path);  // Error naming path if unreadable

}  // namespace glassbox::detail
