// glassbox tokenize: text -> ids and pieces, or ids -> text with --decode.
#include <memory>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

// Pads to `width` columns, counting UTF-8 code points (pieces such as "Ġthe").
std::string pad_right(std::string s, size_t width) {
  size_t cols = 0;
  for (char c : s) cols += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  if (cols < width) s.append(width - cols, ' ');
  return s;
}

void print_tokens(const Tokenizer& t, const std::vector<int32_t>& ids, bool json_out, const std::string* text) {
  if (json_out) {
    nlohmann::json pieces = nlohmann::json::array();
    for (int32_t id : ids) pieces.push_back(t.token_to_piece(id));
    nlohmann::json j = {{"ids", ids}, {"pieces", pieces}};
    if (text) j["text"] = *text;
    print_json(j);
    return;
  }
  if (text) std::printf("text: '%s'\n", escape_text(*text).c_str());
  std::printf("%zu tokens\n", ids.size());
  std::printf("ids: ");
  for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? ",%d" : "%d", ids[i]);
  std::printf("\n  %4s %7s  %-20s %s\n", "pos", "id", "piece", "text");
  for (size_t i = 0; i < ids.size(); ++i)
    std::printf("  %4zu %7d  %s '%s'\n", i, ids[i], pad_right(escape_text(t.token_to_piece(ids[i])), 20).c_str(),
                escape_text(t.token_to_bytes(ids[i])).c_str());
}

}  // namespace

Command add_tokenize_command(CLI::App& parent) {
  struct Opts {
    std::string model, text, file, decode;
    bool json = false, no_special = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("tokenize", "Turn text into token ids and pieces (or ids back into text)");
  add_model_option(*cmd, o->model);
  auto* text = cmd->add_option("text", o->text, "Text to tokenize");
  auto* file = cmd->add_option("-f,--file", o->file, "Read the text from a file");
  auto* decode = cmd->add_option("--decode,--tokens", o->decode, "Decode these token ids instead, e.g. 1,2,3");
  cmd->add_flag("--no-special", o->no_special,
                "Add no BOS/EOS and read special-token text (<|endoftext|>) as plain text; "
                "with --decode, leave special tokens out");
  add_json_flag(*cmd, o->json);
  text->excludes(file)->excludes(decode);
  file->excludes(decode);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const Tokenizer& t = require_tokenizer(m, "tokenize");
            if (!o->decode.empty()) {
              const std::vector<int32_t> ids = parse_token_ids(o->decode, "--decode");
              for (int32_t id : ids)
                if (id >= t.vocab_size()) fail("--decode: token id ", id, " is outside the vocabulary of ", t.vocab_size());
              const std::string text = t.decode(ids, /*skip_special=*/o->no_special);
              if (o->json) {
                print_tokens(t, ids, true, &text);
              } else {
                std::fwrite(text.data(), 1, text.size(), stdout);
                std::fputc('\n', stdout);
              }
              return 0;
            }
            const std::string text = o->file.empty() ? o->text : read_text_file(o->file);
            if (o->file.empty() && o->text.empty()) fail("tokenize: give text, --file or --decode");
            const bool special = !o->no_special;
            const std::vector<int32_t> ids = t.encode(text, special, special);
            print_tokens(t, ids, o->json, nullptr);
            return 0;
          }};
}

}  // namespace glassbox::cli
