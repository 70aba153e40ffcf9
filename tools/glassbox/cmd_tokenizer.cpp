// glassbox tokenizer train: learn a byte-level BPE vocabulary from text files
// and save it as a Hugging Face tokenizer.json.
#include <memory>

#include "common.h"
#include "glassbox/tokenizer_train.h"

namespace glassbox::cli {

Command add_tokenizer_command(CLI::App& parent) {
  struct Opts {
    std::vector<std::string> files, specials{"<|endoftext|>"};
    std::string out = "tokenizer.json", pre = "gpt2";
    int vocab = 4096, min_freq = 2;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* tok = parent.add_subcommand("tokenizer", "Tokenizer tools");
  tok->require_subcommand(1);
  CLI::App* cmd = tok->add_subcommand("train", "Train a byte-level BPE tokenizer (HF tokenizer.json)");
  cmd->add_option("files", o->files, "Text files to learn from")->required()->check(CLI::ExistingFile);
  cmd->add_option("--vocab-size", o->vocab, "Vocabulary size incl. 256 byte symbols and specials")->capture_default_str();
  cmd->add_option("--min-frequency", o->min_freq, "Never merge pairs seen fewer times")->capture_default_str();
  cmd->add_option("--special", o->specials, "Special tokens (ids 0..)")->capture_default_str();
  cmd->add_option("--pre-tokenizer", o->pre, "gpt2 | llama3 | qwen2")->capture_default_str();
  cmd->add_option("-o,--out", o->out, "Output tokenizer.json")->capture_default_str();
  add_json_flag(*cmd, o->json);
  return {tok, [o] {
            std::vector<std::string> texts;
            for (const auto& f : o->files) texts.push_back(read_text_file(f));
            BpeTrainOptions opt;
            opt.vocab_size = o->vocab;
            opt.min_frequency = o->min_freq;
            opt.special_tokens = o->specials;
            opt.pre_tokenizer = o->pre;
            opt.show_progress = !o->json;
            const BpeTrainResult r = train_bpe(texts, opt);
            save_tokenizer_json(r.tokenizer_json, o->out);
            if (o->json) print_json({{"out", o->out}, {"vocab_size", r.tokenizer.vocab_size()}});
            else std::printf("trained %d tokens -> %s\n", r.tokenizer.vocab_size(), o->out.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
