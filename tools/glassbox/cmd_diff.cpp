// glassbox diff: what did fine-tuning change? A base and a tuned model on the
// same prompts, each answered by the tuned (or base) model's greedy
// continuation: KL by response position, the share of each component (patched
// both ways), weight-difference norms, the lens of the difference.
#include <memory>
#include <optional>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/model_diff.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/crosscoder_diff.h"
#include "glassbox/features/saelens.h"
#include "glassbox/generate.h"
#include "glassbox/json_file.h"
#include "glassbox/pages/model_diff.h"
#include "glassbox/progress.h"
#include "glassbox/steering/chat_style.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string base, tuned, prompts_file, response_by = "tuned", html, crosscoder;
  std::vector<std::string> prompts, sites = {"attn_out", "mlp_out"};
  int chat = 16, max_new_tokens = 16, top_k = 8;
  int64_t start = 0;
  bool no_patching = false, json = false;
};

std::vector<analysis::AskedPrompt> read_prompts(const Model& m, const Opts& o, std::string& source, int64_t& start) {
  std::vector<analysis::AskedPrompt> out;
  for (const auto& p : o.prompts) out.push_back({input_tokens(m, p, ""), std::nullopt});
  if (!o.prompts_file.empty())
    for_each_jsonl_line(o.prompts_file, [&](const nlohmann::json& j, const std::string& where) {
      if (!j.is_object() || !j.contains("prompt") || !j["prompt"].is_string())
        fail(where, ": expected {\"prompt\": \"...\"} with an optional \"response\": \"...\"");
      analysis::AskedPrompt a{input_tokens(m, j["prompt"].get<std::string>(), ""), std::nullopt};
      if (j.contains("response")) {
        if (!j["response"].is_string()) fail(where, ": \"response\" must be a string");
        a.response = require_tokenizer(m, "diff").encode(j["response"].get<std::string>(), false, false);
      }
      out.push_back(std::move(a));
    });
  if (!out.empty()) {
    source = "the prompts given";
    return out;
  }
  // No prompts: tiny-lm-chat's held-out chat prompts; the start is its marker and the token after it.
  const steering::ChatStyleData d = steering::chat_style_data(m, 0, size_t(o.chat), 0);
  for (const auto& p : d.heldout_prompts) out.push_back({p, std::nullopt});
  if (o.start == 0) start = int64_t(require_tokenizer(m, "diff").encode(d.marker, false, false).size()) + 1;
  source = glassbox::detail::cat(out.size(), " held-out tiny-lm-chat prompts (the response start: the marker '",
                                 d.marker, "' and the token after it)");
  return out;
}

void print_diff(const Model& m, const analysis::ModelDiff& d, const std::string& source) {
  std::printf("%s vs %s on %s\n", d.base.c_str(), d.tuned.c_str(), source.c_str());
  std::printf("%s\n\nKL(tuned || base) by response position (nats):\n", pages::model_diff_summary(d).c_str());
  for (size_t i = 0; i < d.kl_by_position.size(); ++i)
    std::printf("  %3zu %8.3f%s\n", i, d.kl_by_position[i], int64_t(i) < d.start_positions ? "  (start)" : "");
  if (!d.components.empty()) {
    std::printf("\nshare of the KL per component (all positions / response start):\n  %-28s %-17s %s\n", "component",
                "base into tuned", "tuned into base");
    for (const auto& c : d.components)
      std::printf("  %-28s %6.3f / %6.3f   %6.3f / %6.3f\n", c.hook.c_str(), c.base_into_tuned,
                  c.base_into_tuned_start, c.tuned_into_base, c.tuned_into_base_start);
  }
  std::printf("\nrelative weight change ||W_tuned - W_base|| / ||W_base||:\n");
  for (const auto& w : d.weights) std::printf("  %-24s %.4f\n", w.name.c_str(), w.relative);
  std::printf("\nwhat the difference promotes at the response start (logit lens, mean change of log p):\n");
  for (const auto& l : d.lens_start) {
    std::printf("  %-26s", l.hook.c_str());
    for (size_t i = 0; i < l.promoted.size() && i < 5; ++i)
      std::printf(" %s(%+.1f)", token_label(m, l.promoted[i]).c_str(), double(l.promoted_delta[i]));
    std::printf("\n");
  }
}

nlohmann::json diff_json(const Model& m, const analysis::ModelDiff& d, const std::string& source) {
  nlohmann::json j = d.to_json();
  j["prompts"] = source;
  j["summary"] = pages::model_diff_summary(d);
  for (const char* group : {"start", "rest"})
    for (auto& layer : j["lens"][group])
      for (const char* side : {"promoted", "suppressed"})
        for (auto& t : layer[side]) t["text"] = token_text_json(m, t["token"].get<int32_t>());
  return j;
}

nlohmann::json crosscoder_json(const Model& m, const features::CrosscoderDiff& x) {
  nlohmann::json j = x.to_json();
  j["summary"] = pages::crosscoder_diff_summary(x);
  for (const char* side : {"top_tuned_only", "top_base_only", "top_start"})
    for (auto& l : j[side])
      if (l["max_token"].get<int32_t>() >= 0) l["max_token_text"] = token_text_json(m, l["max_token"].get<int32_t>());
  return j;
}

void print_crosscoder(const Model& m, const features::CrosscoderDiff& x) {
  std::printf("\ncrosscoder latents: %s\n", pages::crosscoder_diff_summary(x).c_str());
  const char* titles[] = {"firing most at the response start", "tuned only", "base only"};
  const std::vector<features::CrosscoderLatent>* lists[] = {&x.top_start, &x.top_tuned_only, &x.top_base_only};
  for (int side = 0; side < 3; ++side) {
    if (lists[side]->empty()) continue;
    std::printf("  %s (latent, relative norm, decoder cosine, fires at start / after, token at max):\n", titles[side]);
    for (const auto& l : *lists[side])
      std::printf("    %5lld  %.3f  %.3f  %.2f / %.2f  %s\n", static_cast<long long>(l.latent), l.relative_norm,
                  l.decoder_cosine, l.freq_start, l.freq_rest,
                  l.max_token >= 0 ? token_label(m, l.max_token).c_str() : "");
  }
}

}  // namespace

Command add_diff_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "diff", "What fine-tuning changed: a base and a tuned model on the same prompts (KL by response position, "
              "per-component shares, weight-difference norms, lens of the difference)");
  cmd->add_option("prompts", o->prompts,
                  "Prompts (text, special tokens such as <|endoftext|> parsed); default: held-out tiny-lm-chat prompts");
  cmd->add_option("--base", o->base, "The base model directory")->required();
  cmd->add_option("--tuned", o->tuned, "The tuned model directory (same vocabulary and shape)")->required();
  cmd->add_option("--prompts-file", o->prompts_file,
                  "JSON Lines: {\"prompt\": \"...\", \"response\": \"...\"} (response optional: generated if absent)");
  cmd->add_option("--chat", o->chat, "Without prompts: how many held-out tiny-lm-chat prompts")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--response-by", o->response_by, "Which model writes missing responses (greedy): tuned or base")
      ->check(CLI::IsMember({"tuned", "base"}));
  cmd->add_option("--max-new-tokens", o->max_new_tokens, "Length of a generated response")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--start", o->start,
                  "Response positions that count as its start (default: 3; the marker and one token for the "
                  "tiny-lm-chat prompts)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--sites", o->sites, "Components patched at every layer (default attn_out,mlp_out)")
      ->delimiter(',');
  cmd->add_flag("--no-patching", o->no_patching, "Skip the per-component patching (two passes per component)");
  cmd->add_option("--top-k", o->top_k, "Tokens per layer in the lens of the difference")->check(CLI::PositiveNumber);
  cmd->add_option("--crosscoder", o->crosscoder,
                  "A crosscoder over the base's and the tuned model's site (SAELens directory, source 0 the base): "
                  "report its latents exclusive to each model and where they fire");
  cmd->add_option("--html", o->html, "Also write an HTML report with the charts");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model base = load_model(o->base), tuned = load_model(o->tuned);
            analysis::check_diffable(base, tuned);
            int64_t start = o->start;
            std::string source;
            const std::vector<analysis::AskedPrompt> asked = read_prompts(tuned, *o, source, start);
            Engine writer(o->response_by == "base" ? base : tuned);
            const std::vector<analysis::DiffPrompt> prompts = analysis::with_responses(writer, asked, o->max_new_tokens);
            analysis::ModelDiffOptions mo;
            mo.start_positions = start > 0 ? start : 3;
            mo.top_k = o->top_k;
            mo.patching = !o->no_patching;
            mo.sites.clear();
            for (const auto& s : o->sites) mo.sites.push_back(parse_patch_site(s, "--sites"));
            ProgressBar bar("diff", "passes", o->json ? ProgressWhen::Never : ProgressWhen::Terminal);
            mo.progress = [&](int64_t done, int64_t total) { bar.update(done, total); };
            const analysis::ModelDiff d = analysis::model_diff(base, tuned, prompts, mo);
            std::optional<features::CrosscoderDiff> xd;
            if (!o->crosscoder.empty()) {
              features::CrosscoderDiffOptions xo;
              xo.start_positions = mo.start_positions;
              xd = features::crosscoder_diff(base, tuned, features::load_saelens(o->crosscoder), prompts, xo);
            }
            if (!o->html.empty()) {
              report::Page page("Model diff", d.base + " vs " + d.tuned + " on " + source);
              pages::add_model_diff_sections(page, tuned, d);
              if (xd) pages::add_crosscoder_diff_sections(page, tuned, *xd);
              page.save(o->html);
            }
            if (o->json) {
              nlohmann::json j = diff_json(tuned, d, source);
              if (xd) j["crosscoder"] = crosscoder_json(tuned, *xd);
              if (!o->html.empty()) j["html"] = o->html;
              print_json(j);
              return 0;
            }
            print_diff(tuned, d, source);
            if (xd) print_crosscoder(tuned, *xd);
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
