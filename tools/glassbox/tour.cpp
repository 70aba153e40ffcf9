#include "tour.h"
#include "tour_report.h"
#include "glassbox/zoo.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common.h"
#include "glassbox/analysis/attention_entropy.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/tokenizer.h"
#include "make_tiny_model.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::cli {

namespace {

void section(bool quiet, const char* title) {
  if (!quiet) std::printf("\n== %s\n", title);
}

// "blocks.3.attn.hook_pattern" -> "attn.hook_pattern"; global names unchanged.
std::string site_kind(const std::string& name) {
  if (name.rfind("blocks.", 0) != 0) return name;
  const size_t dot = name.find('.', 7);
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

}  // namespace

int run_tour(const TourOptions& o) {
  const bool quiet = o.json;  // JSON mode: one object on stdout, nothing else
  json report;

  fs::create_directories(o.out);
  // 1. A checkpoint: the shipped ioi organism, or random weights without one.
  const bool organism = fs::exists(fs::path(zoo::default_model()) / "model.safetensors");
  const std::string dir = organism ? zoo::default_model() : (fs::path(o.out) / "tiny-gpt2").string();
  const bool created = !organism && !tiny_gpt2_exists(dir);
  if (created) make_tiny_gpt2(dir);
  section(quiet, "1. checkpoint");
  if (!quiet) {
    if (organism) std::printf("the shipped ioi organism, %s (glassbox zoo list)\n", dir.c_str());
    else
      std::printf("%s %s (random GPT-2 weights, byte-level tokenizer; no organisms shipped)\n",
                  created ? "created" : "using existing", dir.c_str());
  }
  report["model_dir"] = dir;
  report["created"] = created;
  report["organism"] = organism;
  const std::string prompt = !o.prompt.empty() ? o.prompt
                             : organism        ? "When Mary and John went to the store, John gave a drink to"
                                               : "The quick brown fox jumps over the lazy dog";

  // 2. What it is.
  const Model m = Model::load(dir);
  const Tokenizer& tok = require_tokenizer(m, "the tour");
  section(quiet, "2. model card  (glassbox info)");
  if (!quiet) print_model_card(m, false);
  report["model"] = model_card_json(m, false);

  // 3. Text to tokens.
  const std::vector<int32_t> ids = tok.encode(prompt);
  if (ids.empty()) fail("tour: the prompt has no tokens");
  section(quiet, "3. tokenize  (glassbox tokenize)");
  if (!quiet) {
    std::printf("'%s' -> %zu tokens:", escape_text(prompt).c_str(), ids.size());
    for (int32_t id : ids) std::printf(" %d", id);
    std::printf("\n");
  }
  report["prompt"] = prompt;
  report["tokens"] = ids;

  // 4. Next-token predictions.
  Engine e(m);
  const Batch batch = Batch::single(ids);
  ForwardOptions last;
  last.logits = LogitsMode::Last;
  const auto top = top_predictions(e.forward(batch, nullptr, nullptr, last).logits.f32(), m.config().d_vocab, 5);
  section(quiet, "4. top-5 next tokens  (glassbox run)");
  if (!quiet) print_predictions(m, top);
  report["top"] = to_json(top, m);

  // 5. Every activation, under its TransformerLens name.
  const ActivationCache cache = run_with_cache(e, batch);
  std::vector<std::pair<std::string, size_t>> by_kind;  // forward order of first appearance
  for (const auto* entry : entries_in_hook_order(cache, m.config())) {
    const auto& [name, t] = *entry;
    const std::string kind = site_kind(name);
    auto it = std::find_if(by_kind.begin(), by_kind.end(), [&](const auto& kv) { return kv.first == kind; });
    if (it == by_kind.end()) by_kind.push_back({kind, t.nbytes()});
    else it->second += t.nbytes();
  }
  std::vector<analysis::AttentionEntropy> entropy;
  for (int l = 0; l < m.config().n_layers; ++l) {
    const std::string name = "blocks." + std::to_string(l) + ".attn.hook_pattern";
    if (cache.contains(name)) entropy.push_back(analysis::attention_entropy(cache[name]));
  }
  section(quiet, "5. activation cache, all hooks  (glassbox cache)");
  if (!quiet) {
    std::printf("%zu tensors, %s (logits included)\n", cache.entries.size(), human_bytes(cache.nbytes()).c_str());
    for (const auto& [kind, bytes] : by_kind) std::printf("  %-28s %10s\n", kind.c_str(), human_bytes(bytes).c_str());
    std::printf("mean attention entropy per layer (nats; a uniform pattern would have %.3f):\n",
                entropy.empty() ? 0.0 : entropy[0].uniform);
    for (size_t l = 0; l < entropy.size(); ++l) std::printf("  layer %zu  %.3f\n", l, entropy[l].mean);
  }
  json kinds = json::object();
  for (const auto& [kind, bytes] : by_kind) kinds[kind] = bytes;
  json ent = json::array();
  for (const auto& x : entropy) ent.push_back(x.mean);
  report["cache"] = {{"n_tensors", cache.entries.size()},
                     {"total_bytes", cache.nbytes()},
                     {"bytes_by_site", kinds},
                     {"attention_entropy", ent},
                     {"attention_entropy_uniform", entropy.empty() ? 0.0 : entropy[0].uniform}};

  // 6. Greedy continuation (capped by the context).
  SamplingOptions s;
  s.temperature = 0;
  s.max_new_tokens = std::max(0, std::min<int>(o.new_tokens, m.config().n_ctx - int(ids.size())));
  const std::vector<int32_t> gen = generate(e, {ids}, s).tokens.at(0);
  const std::string text = tok.decode(gen);
  section(quiet, "6. greedy generation  (glassbox generate --greedy)");
  if (!quiet) std::printf("'%s' + '%s'\n", escape_text(prompt).c_str(), escape_text(text).c_str());
  report["generation"] = {{"tokens", gen}, {"text", text}};

  // 7. The cache on disk, for Python / later commands.
  const std::string cache_path = (fs::path(o.out) / "cache.safetensors").string();
  cache.save(cache_path);
  section(quiet, "7. saved");
  if (!quiet) {
    std::printf("%s\n", cache_path.c_str());
    std::printf("\nnext: glassbox hooks --model %s   |   glassbox patch --help   |   glassbox heads --model %s\n",
                dir.c_str(), dir.c_str());
  }
  report["cache_path"] = cache_path;

  // 8. The HTML report: the shipped model organisms.
  const std::string index = write_tour_report(o.out, zoo::models_dir());
  section(quiet, "8. report");
  if (!quiet) std::printf("%s\n", index.c_str());
  report["report"] = index;
  if (quiet) print_json(report);
  return 0;
}

}  // namespace glassbox::cli
