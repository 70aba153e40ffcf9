#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex_split.h"

#include <pcre2.h>

#include "glassbox/error.h"

namespace glassbox::detail {

namespace {

// JIT code runs on a small machine stack by default; a long run of one class
// (100k spaces) can exhaust it, so a retry gets a large per-thread stack.
struct JitStack {
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_context* ctx = nullptr;
  JitStack() {
    stack = pcre2_jit_stack_create(64 * 1024, 256 * 1024 * 1024, nullptr);
    ctx = pcre2_match_context_create(nullptr);
    if (stack && ctx) pcre2_jit_stack_assign(ctx, nullptr, stack);
  }
  ~JitStack() {
    if (ctx) pcre2_match_context_free(ctx);
    if (stack) pcre2_jit_stack_free(stack);
  }
};

pcre2_match_context* big_jit_context() {
  thread_local JitStack js;
  return js.ctx;
}

struct MatchData {
  pcre2_match_data* md;
  MatchData() : md(pcre2_match_data_create(1, nullptr)) {}
  ~MatchData() { pcre2_match_data_free(md); }
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

}  // namespace

Regex::Regex(const std::string& pattern, bool literal, const std::string& what) : pattern_(pattern) {
  int err = 0;
  PCRE2_SIZE off = 0;
  // MATCH_INVALID_UTF: invalid bytes never match and so end up in gaps of
  // their own, instead of failing the whole match.
  uint32_t opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  if (literal) opts |= PCRE2_LITERAL;
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), opts, &err,
                             &off, nullptr);
  if (!code) fail(what, ": bad pre-tokenizer regex at offset ", off, ": ", pcre2_message(err), " in '", pattern, "'");
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter if JIT is unavailable
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

void Regex::split(std::string_view text, Span s, SplitBehavior behavior, std::vector<Span>& out) const {
  thread_local MatchData m;
  auto* code = static_cast<const pcre2_code*>(code_);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + s.begin);
  const size_t len = s.len;
  size_t pos = 0;     // next byte not yet emitted
  size_t start = 0;   // where the next search starts
  while (start < len) {
    int rc = pcre2_match(code, subject, len, start, 0, m.md, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT) rc = pcre2_match(code, subject, len, start, 0, m.md, big_jit_context());
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) fail("tokenizer: regex match failed (", pcre2_message(rc), ") for '", pattern_, "'");
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(m.md);
    const size_t b = ov[0], e = ov[1];
    if (e == b) {  // empty match: step over one character
      start = b + 1;
      while (start < len && (subject[start] & 0xC0) == 0x80) ++start;
      continue;
    }
    if (b > pos) out.push_back({static_cast<uint32_t>(s.begin + pos), static_cast<uint32_t>(b - pos)});
    if (behavior == SplitBehavior::Isolated)
      out.push_back({static_cast<uint32_t>(s.begin + b), static_cast<uint32_t>(e - b)});
    pos = start = e;
  }
  if (pos < len) out.push_back({static_cast<uint32_t>(s.begin + pos), static_cast<uint32_t>(len - pos)});
}

void PreTokenizer::add(const std::string& pattern, SplitBehavior b, bool literal) {
  steps_.push_back({std::make_shared<const Regex>(pattern, literal, "tokenizer"), b});
}

void PreTokenizer::split(std::string_view text, Span s, std::vector<Span>& out, std::vector<Span>& scratch) const {
  out.clear();
  out.push_back(s);
  for (const auto& step : steps_) {
    scratch.clear();
    for (const Span& piece : out) step.regex->split(text, piece, step.behavior, scratch);
    out.swap(scratch);
  }
}

PreTokenizer pretokenizer_for_gguf_pre(const std::string& pre, const std::string& source,
                                       std::string& canonical_name) {
  PreTokenizer p;
  // Names as in llama.cpp llama_vocab::impl::load (tokenizer_pre == ...).
  if (pre == "gpt-2" || pre == "phi-2" || pre == "jina-es" || pre == "jina-de" || pre == "gigachat" ||
      pre == "jina-v2-es" || pre == "jina-v2-de" || pre == "mpt" || pre == "olmo" || pre == "jais" ||
      pre == "trillion") {
    canonical_name = "gpt-2";
    p.add(pattern::kGpt2);
  } else if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3" ||
             pre == "pixtral") {
    canonical_name = "llama3";
    p.add(pattern::kLlama3);
  } else if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "stablelm2") {
    canonical_name = "qwen2";
    p.add(pattern::kQwen2);
  } else if (pre.empty() || pre == "default") {
    // llama.cpp's fallback for BPE vocabularies without a pre-tokenizer name.
    canonical_name = "default";
    p.add(R"([\p{P}\$\+<=>\^~\|]+)");
    p.add(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))");
    p.add(R"(\p{N}+)");
    p.add(R"([0-9][0-9][0-9])");
  } else {
    fail(source, ": unsupported tokenizer.ggml.pre '", pre,
         "' (supported: gpt-2, llama-bpe/llama3, qwen2, default and their aliases)");
  }
  return p;
}

}  // namespace glassbox::detail
