// HF tokenizer.json (BPE / WordPiece / Unigram models, normalizers,
// pre-tokenizers, added tokens, post-processors), then an encode and decode
// with whatever vocabulary and merges the file gave.
#include "fuzz_common.h"
#include "glassbox/tokenizer.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_temp("tokenizer.json", data, size);
  fuzz::accept_errors([&] {
    const Tokenizer tok = Tokenizer::from_hf_json(path);
    const std::vector<int32_t> ids = tok.encode("Hello world! <s></s><|endoftext|> 123 \xc3\xa9t\xc3\xa9 \xe2\x96\x81x\n\t  y");
    volatile size_t sink = tok.decode(ids).size();
    for (int32_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) std::abort();
    (void)sink;
  });
  return 0;
}
