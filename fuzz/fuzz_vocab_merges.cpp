// GPT-2 style vocab.json + merges.txt. The input is the two files joined by a
// NUL byte (vocab first; no NUL: merges.txt is empty).
#include <cstring>

#include "fuzz_common.h"
#include "glassbox/tokenizer.h"

using namespace glassbox;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t n_vocab = nul ? size_t(nul - data) : size;
  const std::string vocab = fuzz::write_temp("vocab.json", data, n_vocab);
  const std::string merges = fuzz::write_temp("merges.txt", nul ? nul + 1 : data, nul ? size - n_vocab - 1 : 0);
  fuzz::accept_errors([&] {
    const Tokenizer tok = Tokenizer::from_vocab_merges(vocab, merges);
    const std::vector<int32_t> ids = tok.encode("Hello world! <|endoftext|> 123 \xc3\xa9t\xc3\xa9\n\t  y");
    for (int32_t id : ids)
      if (id < 0 || id >= tok.vocab_size()) std::abort();
    volatile size_t sink = tok.decode(ids).size();
    (void)sink;
  });
  return 0;
}
