#include "server/request_fields.h"

#include <cmath>
#include <limits>

#include "glassbox/tokenizer.h"

namespace glassbox::server::fields {

std::string show(const nlohmann::json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.size() <= 40) return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return "a string of " + std::to_string(s.size()) + " bytes";
  }
  if (v.is_array()) return "an array of " + std::to_string(v.size());
  if (v.is_object()) return "an object";
  return v.dump();  // a number, boolean or null
}

void check_known(const nlohmann::json& body, std::initializer_list<std::string_view> known, const std::string& what) {
  for (const auto& [key, _] : body.items()) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == key;
    if (ok) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    const std::string field = what.empty() ? key : what + "." + key;
    fail(field, ": unknown field (expected one of ", list, ")");
  }
}

const nlohmann::json* find(const nlohmann::json& body, const char* key) {
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

double number(const nlohmann::json& v, const std::string& field) {
  if (!v.is_number()) fail(field, ": expected a number, got ", show(v));
  const double x = v.get<double>();
  if (!std::isfinite(x)) fail(field, ": expected a finite number");
  return x;
}

int64_t integer(const nlohmann::json& v, const std::string& field, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) {
    // 16.0 is an integer too (JSON has one number type).
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::abs(v.get<double>()) < 1e15)
      return integer(nlohmann::json(int64_t(v.get<double>())), field, lo, hi);
    fail(field, ": expected an integer, got ", show(v));
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    fail(field, ": ", v.dump(), " is out of range [", lo, ", ", hi, "]");
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) fail(field, ": ", x, " is out of range [", lo, ", ", hi, "]");
  return x;
}

bool boolean(const nlohmann::json& v, const std::string& field) {
  if (!v.is_boolean()) fail(field, ": expected true or false, got ", show(v));
  return v.get<bool>();
}

std::string string(const nlohmann::json& v, const std::string& field) {
  if (!v.is_string()) fail(field, ": expected a string, got ", show(v));
  return v.get<std::string>();
}

std::vector<std::string> strings(const nlohmann::json& v, const std::string& field) {
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) fail(field, ": expected a string or a list of strings, got ", show(v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(string(v[i], field + "[" + std::to_string(i) + "]"));
  return out;
}

std::vector<int32_t> token_ids(const Model& m, const nlohmann::json& v, const std::string& field) {
  if (!v.is_array()) fail(field, ": expected a list of token ids, got ", show(v));
  const int64_t V = m.config().d_vocab;
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string f = field + "[" + std::to_string(i) + "]";
    if (!v[i].is_number_integer()) fail(f, ": expected a token id, got ", show(v[i]));
    ids.push_back(int32_t(integer(v[i], f, 0, V - 1)));
  }
  return ids;
}

std::vector<int32_t> encode(const Model& m, const std::string& text, const std::string& field) {
  if (!m.tokenizer()) fail(field, ": the model has no tokenizer; send token ids instead");
  return m.tokenizer()->encode(text);
}

int32_t single_token(const Model& m, const nlohmann::json& v, const std::string& field) {
  if (v.is_number()) return int32_t(integer(v, field, 0, m.config().d_vocab - 1));
  const std::string s = string(v, field);
  if (s.size() > 1 && s[0] == '#' && s.find_first_not_of("0123456789", 1) == std::string::npos && s.size() < 12)
    return int32_t(integer(nlohmann::json(std::stoll(s.substr(1))), field, 0, m.config().d_vocab - 1));
  if (!m.tokenizer()) fail(field, ": the model has no tokenizer; give a token id");
  const std::vector<int32_t> ids = m.tokenizer()->encode(s, /*add_special=*/false);
  if (ids.size() != 1)
    fail(field, ": ", show(v), " is ", ids.size(),
         " tokens, expected exactly one (a leading space often matters: \" Mary\"); or give an id");
  return ids[0];
}

std::vector<int32_t> input_tokens(const Model& m, const nlohmann::json& body, const char* text_key,
                                  const char* tokens_key, int64_t max_tokens) {
  const nlohmann::json* text = find(body, text_key);
  const nlohmann::json* toks = find(body, tokens_key);
  if (text && toks) fail(text_key, ": give either ", text_key, " or ", tokens_key, ", not both");
  if (!text && !toks) fail(text_key, ": missing (give ", text_key, " as text or ", tokens_key, " as token ids)");
  const std::string field = text ? text_key : tokens_key;
  const std::vector<int32_t> ids = text ? encode(m, string(*text, field), field) : token_ids(m, *toks, field);
  if (ids.empty()) fail(field, ": the input has no tokens");
  if (int64_t(ids.size()) > max_tokens)
    fail(field, ": ", ids.size(), " tokens, more than the limit of ", max_tokens);
  return ids;
}

}  // namespace glassbox::server::fields
