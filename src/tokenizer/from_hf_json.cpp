// Hugging Face `tokenizers` JSON (tokenizer.json), model type "BPE", in the
// two shapes real checkpoints use:
//   byte-level   : pre_tokenizer ByteLevel (GPT-2) or Sequence[Split(regex),
//                  ByteLevel(use_regex=false)] (Llama-3, Qwen2);
//   SentencePiece: normalizer Sequence[Prepend("▁"), Replace(" ", "▁")] or
//                  pre_tokenizer Metaspace, byte_fallback (Llama-2, Mistral).
// https://huggingface.co/docs/tokenizers/api/pre-tokenizers
#include <filesystem>

#include "core/json_integer.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/tokenizer.h"
#include "tokenizer/model.h"
#include "tokenizer/read_file.h"
#include "tokenizer/utf8.h"

namespace glassbox {

namespace detail {
void parse_merge_line(std::string_view line, std::string_view& a, std::string_view& b, const std::string& where);
// from_hf_json on a parsed document; `path` names it in messages. read_config:
// look for tokenizer_config.json beside `path`.
Tokenizer tokenizer_from_hf_json(const nlohmann::json& j, const std::string& path, bool read_config);
}

namespace {

using nlohmann::json;
using detail::TokenizerModel;

// A token id from the file: an integer that fits int32 (get<int32_t>() of
// 1e300 is undefined behaviour, of 2^40 a wrapped id).
int32_t read_id(const json& v, const std::string& path, const std::string& what) {
  if (!v.is_number_integer() || !detail::json_integer_fits<int32_t>(v))
    fail(path, ": ", what, " must be an integer token id, got ", v.dump());
  return v.get<int32_t>();
}

std::string type_of(const json& node) {
  return node.is_object() && node.contains("type") && node["type"].is_string() ? node["type"].get<std::string>() : "";
}

// True if `node` or any Sequence member below it has this type.
bool has_type(const json& node, const std::string& type, const char* list_key) {
  if (!node.is_object()) return false;
  if (type_of(node) == type) return true;
  if (node.contains(list_key) && node[list_key].is_array())
    for (const auto& child : node[list_key])
      if (has_type(child, type, list_key)) return true;
  return false;
}

void add_byte_level_steps(TokenizerModel& m, const json& node, const std::string& path) {
  if (node.is_null()) return;
  const std::string t = type_of(node);
  if (t == "Sequence") {
    for (const auto& child : node.value("pretokenizers", json::array())) add_byte_level_steps(m, child, path);
  } else if (t == "ByteLevel") {
    if (node.value("use_regex", true)) m.pre.add(detail::pattern::kGpt2);
    m.byte_level_add_prefix_space = node.value("add_prefix_space", false);
  } else if (t == "Split") {
    if (node.value("invert", false)) fail(path, ": pre_tokenizer Split with invert=true is not supported");
    const std::string behavior = node.value("behavior", "Isolated");
    detail::SplitBehavior b;
    if (behavior == "Isolated") b = detail::SplitBehavior::Isolated;
    else if (behavior == "Removed") b = detail::SplitBehavior::Removed;
    else fail(path, ": pre_tokenizer Split behavior '", behavior, "' is not supported (Isolated, Removed)");
    const json& pat = node.value("pattern", json::object());
    if (pat.contains("Regex")) m.pre.add(pat["Regex"].get<std::string>(), b);
    else if (pat.contains("String")) m.pre.add(pat["String"].get<std::string>(), b, /*literal=*/true);
    else fail(path, ": pre_tokenizer Split without a Regex or String pattern");
  } else if (t == "Digits") {
    m.pre.add(node.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
  } else {
    fail(path, ": pre_tokenizer '", t, "' is not supported with a byte-level BPE model");
  }
}

// Names the pre-tokenizer when it is one of the well-known ones.
std::string name_pre(const TokenizerModel& m) {
  if (m.pre.steps().size() != 1) return m.pre.empty() ? "none" : "hf-json";
  const std::string& p = m.pre.steps()[0].regex->pattern();
  if (p == detail::pattern::kGpt2) return "gpt-2";
  // HF's originals use (?i:'s|'t|...); llama.cpp spells the case out.
  const auto strip_ci = [](std::string s) {
    const std::string hf = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
    if (s.starts_with(hf)) s.replace(0, hf.size(), "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])");
    return s;
  };
  if (strip_ci(p) == detail::pattern::kLlama3) return "llama3";
  if (strip_ci(p) == detail::pattern::kQwen2) return "qwen2";
  return "hf-json";
}

void configure_sentencepiece(TokenizerModel& m, const json& j, const std::string& path) {
  // Legacy Llama-2 files: the normalizer spells spaces (Replace) and adds the
  // prefix (Prepend) on every fragment. Newer ones use Metaspace instead.
  const json& norm = j.value("normalizer", json());
  if (has_type(norm, "Prepend", "normalizers")) m.space_prefix = detail::SpacePrefix::Always;
  const json& pre = j.value("pre_tokenizer", json());
  if (!pre.is_null()) {
    if (type_of(pre) != "Metaspace")
      fail(path, ": pre_tokenizer '", type_of(pre), "' is not supported with a SentencePiece-style model");
    if (pre.value("replacement", std::string(detail::kSpmSpace)) != detail::kSpmSpace)
      fail(path, ": Metaspace replacement other than U+2581 is not supported");
    std::string scheme = pre.value("prepend_scheme", "");
    if (scheme.empty()) scheme = pre.value("add_prefix_space", true) ? "always" : "never";
    m.space_prefix = scheme == "always"  ? detail::SpacePrefix::Always
                     : scheme == "first" ? detail::SpacePrefix::First
                                         : detail::SpacePrefix::Never;
    m.metaspace_split = pre.value("split", false);
  }
  m.pre_name = "none";
}

// Prefix/suffix ids from the post-processor (what add_special adds).
void read_post_processor(TokenizerModel& m, const json& node, const std::string& path) {
  const std::string t = type_of(node);
  if (t == "Sequence") {
    for (const auto& child : node.value("processors", json::array())) read_post_processor(m, child, path);
  } else if (t == "TemplateProcessing") {
    const json& specials = node.value("special_tokens", json::object());
    bool after_a = false;
    for (const auto& item : node.value("single", json::array())) {
      if (item.contains("Sequence")) {
        after_a = true;
        continue;
      }
      if (!item.contains("SpecialToken")) continue;
      const std::string name = item["SpecialToken"].value("id", "");
      if (!specials.contains(name)) fail(path, ": post_processor template names unknown special token '", name, "'");
      for (const auto& id : specials[name].value("ids", json::array()))
        (after_a ? m.suffix_ids : m.prefix_ids).push_back(read_id(id, path, "post_processor special token id"));
    }
  } else if (t == "RobertaProcessing" || t == "BertProcessing") {
    // "cls": ["[CLS]", 101]; checked before indexing: a const json's [] does not check.
    auto pair_id = [&](const char* key) {
      if (!node.contains(key) || !node[key].is_array() || node[key].size() != 2)
        fail(path, ": post_processor.", key, " must be [token, id]");
      return read_id(node[key][1], path, std::string("post_processor.") + key + " id");
    };
    m.prefix_ids = {pair_id("cls")};
    m.suffix_ids = {pair_id("sep")};
  }
}

std::string token_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return "";
}

// tokenizer_config.json (transformers) beside tokenizer.json: bos/eos names
// and whether to add them.
void read_tokenizer_config(TokenizerModel& m, const std::string& path) {
  const auto cfg_path = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (!std::filesystem::exists(cfg_path)) return;
  const json cfg = read_json_file(cfg_path.string());
  if (cfg.contains("bos_token")) m.bos_id = m.find(token_text(cfg["bos_token"]));
  if (cfg.contains("eos_token")) m.eos_id = m.find(token_text(cfg["eos_token"]));
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
    std::erase(m.prefix_ids, m.bos_id);
    if (cfg["add_bos_token"].get<bool>() && m.bos_id >= 0) m.prefix_ids.insert(m.prefix_ids.begin(), m.bos_id);
  }
  if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) {
    std::erase(m.suffix_ids, m.eos_id);
    if (cfg["add_eos_token"].get<bool>() && m.eos_id >= 0) m.suffix_ids.push_back(m.eos_id);
  }
}

int32_t first_found(const TokenizerModel& m, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (int32_t id = m.find(n); id >= 0 && m.types[id] == TokenType::Control) return id;
  return -1;
}

// The body of detail::tokenizer_from_hf_json, below it.
Tokenizer tokenizer_from_document(const nlohmann::json& j, const std::string& path, bool read_config);

}  // namespace

Tokenizer Tokenizer::from_hf_json(const std::string& path) {
  return detail::tokenizer_from_hf_json(read_json_file(path), path, /*read_config=*/true);
}

// Also used by train_bpe, which builds the document in memory. A field of
// the wrong JSON type (json::value() of a bool that is a string, ...) is an
// Error naming the file, not a json::exception.
Tokenizer detail::tokenizer_from_hf_json(const nlohmann::json& j, const std::string& path, bool read_config) {
  try {
    return tokenizer_from_document(j, path, read_config);
  } catch (const nlohmann::json::exception& e) {
    fail(path, ": unexpected JSON type: ", e.what());
  }
}

namespace {

Tokenizer tokenizer_from_document(const nlohmann::json& j, const std::string& path, bool read_config) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    fail(path, ": missing \"model\" object (not a Hugging Face tokenizer.json?)");
  const json& model = j["model"];
  const std::string mtype = type_of(model).empty() ? "BPE" : type_of(model);
  if (mtype != "BPE") fail(path, ": model type '", mtype, "' is not supported (only BPE)");
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail(path, ": model.vocab missing or not an object");
  if (!model.contains("merges") || !model["merges"].is_array()) fail(path, ": model.merges missing or not an array");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(k) && model[k].is_string() && !model[k].get<std::string>().empty())
      fail(path, ": model.", k, " is not supported");

  auto m = std::make_shared<TokenizerModel>();
  m->source = path;
  for (const auto& [piece, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || !detail::json_integer_fits<int32_t>(id))
      fail(path, ": model.vocab['", piece, "'] is not an integer id");
    m->set_piece(id.get<int32_t>(), piece, TokenType::Normal);
  }
  m->byte_fallback = model.value("byte_fallback", false);
  m->ignore_merges = model.value("ignore_merges", false);

  const json& merges = model["merges"];
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& rule = merges[i];
    std::string_view a, b;
    std::string joined;
    if (rule.is_string()) {
      joined = rule.get<std::string>();
      detail::parse_merge_line(joined, a, b, detail::cat(path, ": model.merges[", i, "]"));
    } else if (rule.is_array() && rule.size() == 2 && rule[0].is_string() && rule[1].is_string()) {
      a = rule[0].get_ref<const std::string&>();  // tokenizers >= 0.20 writes ["a", "b"]
      b = rule[1].get_ref<const std::string&>();
    } else {
      fail(path, ": model.merges[", i, "] is neither \"a b\" nor [\"a\", \"b\"]");
    }
    if (!m->add_merge(a, b, static_cast<int32_t>(i)))
      fail(path, ": model.merges[", i, "] = '", a, " ", b, "' uses a piece missing from model.vocab");
  }

  for (const auto& t : j.value("added_tokens", json::array())) {
    if (!t.contains("id") || !t.contains("content")) fail(path, ": added_tokens entry without id/content");
    const int32_t id = read_id(t["id"], path, "added_tokens id");
    if (!t["content"].is_string()) fail(path, ": added_tokens content must be a string");
    const std::string content = t["content"].get<std::string>();
    const bool special = t.value("special", false);
    m->set_piece(id, content, special ? TokenType::Control : TokenType::UserDefined);
    m->added.push_back({id, content, special, t.value("lstrip", false), t.value("rstrip", false)});
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    m->unk_id = m->find(model["unk_token"].get<std::string>());
    if (m->unk_id >= 0) m->types[m->unk_id] = TokenType::Unknown;
  }

  const json& pre = j.value("pre_tokenizer", json());
  const json& dec = j.value("decoder", json());
  const json& norm = j.value("normalizer", json());
  if (has_type(pre, "ByteLevel", "pretokenizers") || has_type(dec, "ByteLevel", "decoders")) {
    m->kind = TokenizerKind::ByteLevelBPE;
    // NFC (Qwen2) is not applied: llama.cpp does not either, and it only
    // matters for text that is not already NFC.
    const std::string nt = type_of(norm);
    if (!norm.is_null() && nt != "NFC")
      fail(path, ": normalizer '", nt, "' is not supported with a byte-level BPE model");
    add_byte_level_steps(*m, pre, path);
    m->pre_name = name_pre(*m);
  } else if (has_type(norm, "Replace", "normalizers") || type_of(pre) == "Metaspace" ||
             has_type(dec, "ByteFallback", "decoders")) {
    m->kind = TokenizerKind::SentencePieceBPE;
    for (int32_t id = 0; id < static_cast<int32_t>(m->pieces.size()); ++id) {
      const std::string& p = m->pieces[id];
      if (m->types[id] == TokenType::Normal && p.size() == 6 && p.starts_with("<0x") && p.back() == '>')
        m->types[id] = TokenType::Byte;
    }
    configure_sentencepiece(*m, j, path);
  } else {
    fail(path, ": cannot tell the model's flavour: expected a ByteLevel pre-tokenizer/decoder "
               "(byte-level BPE) or a Replace/Prepend normalizer or Metaspace (SentencePiece BPE)");
  }

  read_post_processor(*m, j.value("post_processor", json()), path);
  if (!m->prefix_ids.empty()) m->bos_id = m->prefix_ids.front();
  if (!m->suffix_ids.empty()) m->eos_id = m->suffix_ids.back();
  if (m->bos_id < 0) m->bos_id = first_found(*m, {"<s>", "<|begin_of_text|>", "<bos>", "<|endoftext|>"});
  if (m->eos_id < 0) m->eos_id = first_found(*m, {"</s>", "<|end_of_text|>", "<eos>", "<|endoftext|>"});
  if (read_config) read_tokenizer_config(*m, path);

  m->finalize();
  return Tokenizer(std::move(m));
}

}  // namespace

}  // namespace glassbox
