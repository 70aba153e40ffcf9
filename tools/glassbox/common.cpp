#include "common.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "glassbox/error.h"
#include "glassbox/features/saelens.h"
#include "glassbox/interventions.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::cli {

// ------------------------------------------------------------------ flags

CLI::Option* add_model_option(CLI::App& cmd, std::string& path) {
  return cmd
      .add_option("-m,--model", path,
                  std::string("Checkpoint: a directory with config.json + *.safetensors, a .safetensors or a .gguf "
                              "file (default: the shipped ioi organism, models/ioi)"))
      ->envname("GLASSBOX_MODEL");
}

CLI::Option* add_json_flag(CLI::App& cmd, bool& json) {
  return cmd.add_flag("--json", json, "Machine-readable JSON on stdout");
}

CLI::Option* add_tokens_option(CLI::App& cmd, std::string& csv) {
  return cmd.add_option("--tokens", csv, "Explicit token ids instead of text, e.g. 1,2,3 (no tokenizer needed)");
}

// ------------------------------------------------------------------ loading

std::string resolve_model_path(const std::string& flag) {
  if (!flag.empty()) return zoo::resolve_model(flag);
  // The shipped ioi organism (word tokenizer), then the tour's checkpoint.
  if (const std::string organism = zoo::default_model(); fs::exists(fs::path(organism) / "config.json")) return organism;
  if (fs::exists(kDefaultModel)) return kDefaultModel;
  fail("no --model given and neither the default model ", zoo::default_model(), " (`glassbox zoo train ioi`) nor ",
       kDefaultModel, " exists; run `glassbox tour` to create it, or pass --model PATH");
}

Model load_model(const std::string& flag) { return Model::load(resolve_model_path(flag)); }

const Tokenizer& require_tokenizer(const Model& m, const std::string& what) {
  if (!m.tokenizer())
    fail(m.source(), ": model has no tokenizer (tokenizer.json, vocab.json + merges.txt or GGUF metadata) for ",
         what, "; pass --tokens with token ids instead");
  return *m.tokenizer();
}

std::vector<int32_t> input_tokens(const Model& m, const std::string& text, const std::string& tokens_csv) {
  if (!tokens_csv.empty() && !text.empty()) fail("give either text or --tokens, not both");
  std::vector<int32_t> ids;
  if (!tokens_csv.empty()) {
    ids = parse_token_ids(tokens_csv, "--tokens");
  } else {
    if (text.empty()) fail("no input: give a prompt or --tokens");
    ids = require_tokenizer(m, "the prompt").encode(text);
  }
  if (ids.empty()) fail("the input has no tokens");
  const int V = m.config().d_vocab;
  for (int32_t id : ids)
    if (id < 0 || id >= V) fail("token id ", id, " is outside the model's vocabulary of ", V);
  return ids;
}

void add_prepend_bos_flag(CLI::App& cmd, bool& flag) {
  cmd.add_flag("--prepend-bos", flag,
               "Put the tokenizer's BOS before the prompt unless it starts with it (GPT-2 BPE adds none; "
               "TransformerLens' prepend_bos)");
}

std::vector<int32_t> with_bos(const Model& m, std::vector<int32_t> ids) {
  const Tokenizer& tok = require_tokenizer(m, "--prepend-bos");
  if (tok.bos_id() < 0) fail("--prepend-bos: the model's tokenizer has no BOS token");
  return glassbox::with_bos(tok, std::move(ids));
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail(path, ": read failed");
  return ss.str();
}

std::vector<HookHandle> attach_interventions_file(HookRegistry& reg, const std::string& path) {
  if (path.empty()) return {};
  return attach(reg, features::load_interventions(path));  // "sae" ones load SAELens directories
}

// ------------------------------------------------------------------ parsing

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& flag) {
  std::vector<int64_t> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == ',' || s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
      ++i;
      continue;
    }
    size_t used = 0;
    const std::string rest = s.substr(i);
    long long v = 0;
    try {
      v = std::stoll(rest, &used, 10);
    } catch (const std::exception&) {
      used = 0;
    }
    const char next = i + used < s.size() ? s[i + used] : ',';
    if (used == 0 || !(next == ',' || next == ' ' || next == '\t' || next == '\n'))
      fail(flag, ": expected integers separated by commas, got '", s, "'");
    out.push_back(v);
    i += used;
  }
  return out;
}

std::vector<int32_t> parse_token_ids(const std::string& s, const std::string& flag) {
  std::vector<int32_t> ids;
  for (int64_t v : parse_int_list(s, flag)) {
    if (v < 0 || v > INT32_MAX) fail(flag, ": token id ", v, " is out of range");
    ids.push_back(int32_t(v));
  }
  return ids;
}

size_t parse_bytes(const std::string& s, const std::string& flag) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    fail(flag, ": expected a size such as 4096, 512MiB or 2G, got '", s, "'");
  }
  std::string unit = s.substr(used);
  unit.erase(0, unit.find_first_not_of(' '));
  std::string u;
  for (char c : unit) u += char(std::toupper(static_cast<unsigned char>(c)));
  double mult = 0;
  if (u.empty() || u == "B") mult = 1;
  const char* prefixes = "KMGT";
  for (int i = 0; i < 4; ++i) {
    const std::string p(1, prefixes[i]);
    if (u == p || u == p + "IB" || u == p + "I") mult = std::pow(1024.0, i + 1);
    if (u == p + "B") mult = std::pow(1000.0, i + 1);
  }
  if (mult == 0 || !(v >= 0) || !std::isfinite(v))
    fail(flag, ": expected a size such as 4096, 512MiB or 2G, got '", s, "'");
  return size_t(std::llround(v * mult));
}

// ------------------------------------------------------------------ printing

std::string strf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[512];
  const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return "";
  if (size_t(n) < sizeof buf) return std::string(buf, size_t(n));
  std::string out(size_t(n) + 1, '\0');
  va_start(ap, fmt);
  std::vsnprintf(out.data(), out.size(), fmt, ap);
  va_end(ap);
  out.resize(size_t(n));
  return out;
}

std::string escape_text(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c == 0x7F) out += strf("\\x%02X", c);
    if (c < 0x20 || c == 0x7F || c == '\\') {
      ++i;
      continue;
    }
    if (c < 0x80) {
      out += char(c);
      ++i;
      continue;
    }
    // A multi-byte UTF-8 sequence is kept when complete and well-formed.
    const size_t len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    bool ok = len && c < 0xF5 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += strf("\\x%02X", c);
      ++i;
    }
  }
  return out;
}

std::string token_label(const Model& m, int32_t id) {
  if (!m.tokenizer() || id < 0 || id >= m.tokenizer()->vocab_size()) return "#" + std::to_string(id);
  return "'" + escape_text(m.tokenizer()->token_to_bytes(id)) + "'";
}

json token_text_json(const Model& m, int32_t id) {
  if (!m.tokenizer() || id < 0 || id >= m.tokenizer()->vocab_size()) return nullptr;
  return m.tokenizer()->token_to_bytes(id);
}

void print_json(const json& j) {
  std::fputs(j.dump(2, ' ', false, json::error_handler_t::replace).c_str(), stdout);
  std::fputc('\n', stdout);
}

json shape_json(const Shape& s) { return json(std::vector<int64_t>(s.begin(), s.end())); }

std::vector<const std::pair<std::string, Tensor>*> entries_in_hook_order(const ActivationCache& c, const Config& cfg) {
  std::map<std::string, size_t> rank;
  for (const HookPoint& p : all_hook_points(cfg)) rank.emplace(p.name(), rank.size());
  std::vector<const std::pair<std::string, Tensor>*> out;
  for (const auto& e : c.entries) out.push_back(&e);
  std::stable_sort(out.begin(), out.end(), [&](const auto* a, const auto* b) {
    const auto ra = rank.find(a->first), rb = rank.find(b->first);
    return (ra == rank.end() ? rank.size() : ra->second) < (rb == rank.end() ? rank.size() : rb->second);
  });
  return out;
}

// ------------------------------------------------------------------ model card

namespace {

size_t stored_bytes(const StoredTensorInfo& t) {
  try {
    return dtype_nbytes(t.dtype, numel(t.shape));
  } catch (const std::exception&) {
    return 0;  // a shape that is not a whole number of blocks: not this tool's to judge
  }
}

size_t mapped_bytes(const Model& m) {
  size_t n = 0;
  for (const auto& t : m.stored_tensors())
    if (t.zero_copy) n += stored_bytes(t);
  return n;
}

const char* tokenizer_kind(const Tokenizer& t) {
  return t.kind() == TokenizerKind::ByteLevelBPE ? "byte-level BPE" : "SentencePiece BPE";
}

}  // namespace

json model_card_json(const Model& m, bool with_tensors) {
  json j = {
      {"path", m.source()},
      {"config", to_json(m.config())},
      {"n_params", m.n_params()},
      {"converted_bytes", m.converted_bytes()},
      {"mapped_bytes", mapped_bytes(m)},
      {"n_stored_tensors", m.stored_tensors().size()},
  };
  if (const Tokenizer* t = m.tokenizer()) {
    j["tokenizer"] = {{"present", true},      {"kind", tokenizer_kind(*t)},      {"vocab_size", t->vocab_size()},
                      {"bos_id", t->bos_id()}, {"eos_id", t->eos_id()},          {"pre_tokenizer", t->pre_tokenizer()}};
  } else {
    j["tokenizer"] = {{"present", false}};
  }
  if (with_tensors) {
    json ts = json::array();
    for (const auto& t : m.stored_tensors())
      ts.push_back({{"name", t.name},
                    {"dtype", std::string(dtype_name(t.dtype))},
                    {"shape", shape_json(t.shape)},
                    {"bytes", stored_bytes(t)},
                    {"zero_copy", t.zero_copy}});
    j["tensors"] = std::move(ts);
  }
  return j;
}

void print_model_card(const Model& m, bool with_tensors) {
  const Config& c = m.config();
  auto row = [](const char* k, const std::string& v) { std::printf("  %-18s %s\n", k, v.c_str()); };
  auto yes = [](bool b) { return std::string(b ? "yes" : "no"); };
  std::printf("%s\n", m.source().c_str());
  row("family", c.family);
  row("layers", std::to_string(c.n_layers));
  row("d_model", std::to_string(c.d_model));
  row("heads", std::to_string(c.n_heads));
  row("kv heads", std::to_string(c.n_kv_heads));
  row("d_head", std::to_string(c.d_head));
  row("d_mlp", c.attn_only ? "none (attention-only)" : std::to_string(c.d_mlp));
  row("vocab", std::to_string(c.d_vocab));
  row("n_ctx", std::to_string(c.n_ctx));
  row("norm", strf("%s (eps %g)", to_string(c.norm), double(c.norm_eps)));
  row("positional", to_string(c.positional));
  if (c.positional == PosKind::Rotary) {
    row("rotary_dim", std::to_string(c.rotary_dim));
    row("rope_theta", strf("%g", double(c.rope_theta)));
  }
  row("act", to_string(c.act));
  row("gated mlp", yes(c.gated_mlp));
  row("parallel residual", yes(c.parallel_residual));
  row("tied embeddings", yes(c.tied_embeddings));
  row("parameters", strf("%.2fM (%lld)", double(m.n_params()) / 1e6, static_cast<long long>(m.n_params())));
  row("weights", strf("%zu tensors stored; %s mapped zero-copy, %s converted at load", m.stored_tensors().size(),
                      human_bytes(mapped_bytes(m)).c_str(), human_bytes(m.converted_bytes()).c_str()));
  if (const Tokenizer* t = m.tokenizer())
    row("tokenizer", strf("%s, %d tokens (bos %d, eos %d)", tokenizer_kind(*t), t->vocab_size(), t->bos_id(),
                          t->eos_id()));
  else
    row("tokenizer", "none (use --tokens)");
  if (with_tensors) {
    std::printf("\n  %-48s %-6s %-18s %12s  %s\n", "tensor", "dtype", "shape", "bytes", "zero-copy");
    for (const auto& t : m.stored_tensors())
      std::printf("  %-48s %-6s %-18s %12zu  %s\n", t.name.c_str(), std::string(dtype_name(t.dtype)).c_str(),
                  shape_str(t.shape).c_str(), stored_bytes(t), t.zero_copy ? "yes" : "no");
  }
}

// ------------------------------------------------------------------ predictions

void print_predictions(const Model& m, const std::vector<Prediction>& ps) {
  std::printf("  %4s %7s %8s %10s  %s\n", "rank", "id", "prob", "logit", "token");
  for (size_t i = 0; i < ps.size(); ++i)
    std::printf("  %4zu %7d %8.4f %10.4f  %s\n", i + 1, ps[i].id, ps[i].prob, double(ps[i].logit),
                token_label(m, ps[i].id).c_str());
}

Command command_group(CLI::App* group, std::vector<Command> subs) {
  group->require_subcommand(1);
  return {group, [subs = std::move(subs)] {
            for (const Command& c : subs)
              if (c.app->parsed()) return c.run();
            return 1;
          }};
}

}  // namespace glassbox::cli
