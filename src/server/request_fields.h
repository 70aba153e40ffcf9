// Reading a request body's fields with errors that start with the field's
// name ("max_tokens: expected an integer, got \"ten\""), so the server can
// report it as OpenAI's "param"; and the prompt / token fields every endpoint
// shares.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/error.h"
#include "glassbox/model.h"

namespace glassbox::server::fields {

// A short, safe rendering of a client's value for an error message (never
// the whole of a large value).
std::string show(const nlohmann::json& v);

// Error naming the first key of `body` not in `known`.
void check_known(const nlohmann::json& body, std::initializer_list<std::string_view> known, const std::string& what);

// body[key] when present and not null, else nullptr.
const nlohmann::json* find(const nlohmann::json& body, const char* key);

double number(const nlohmann::json& v, const std::string& field);
int64_t integer(const nlohmann::json& v, const std::string& field, int64_t lo, int64_t hi);
bool boolean(const nlohmann::json& v, const std::string& field);
std::string string(const nlohmann::json& v, const std::string& field);
// A string or a list of strings.
std::vector<std::string> strings(const nlohmann::json& v, const std::string& field);

// Token ids, each checked against the model's vocabulary.
std::vector<int32_t> token_ids(const Model& m, const nlohmann::json& v, const std::string& field);
// Text through the model's tokenizer (special tokens as the CLI reads them).
std::vector<int32_t> encode(const Model& m, const std::string& text, const std::string& field);
// One token: an id, or text that the tokenizer makes exactly one token (" Mary"; "#12" as an id).
int32_t single_token(const Model& m, const nlohmann::json& v, const std::string& field);

// The input of an analysis endpoint: body[text_key] (text) or body[tokens_key]
// (ids), exactly one of them, non-empty, at most max_tokens long.
std::vector<int32_t> input_tokens(const Model& m, const nlohmann::json& body, const char* text_key,
                                  const char* tokens_key, int64_t max_tokens);

}  // namespace glassbox::server::fields
