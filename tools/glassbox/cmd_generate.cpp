// glassbox generate: sample a continuation, with interventions active for
// every generated token.
#include <memory>

#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/steering/control_vector.h"
#include "glassbox/steering/profile.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

Command add_generate_command(CLI::App& parent) {
  struct Opts {
    std::string model, prompt, tokens, intervene, profile;
    std::vector<std::string> control_vectors;
    std::vector<float> control_vector_scales;
    bool any_model = false;
    SamplingOptions s;
    bool greedy = false, ignore_eos = false, json = false, prepend_bos = false;
  };
  auto o = std::make_shared<Opts>();
  o->s.max_new_tokens = 32;
  CLI::App* cmd = parent.add_subcommand("generate", "Continue a prompt (sampling or greedy)");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt text");
  auto* tokens = add_tokens_option(*cmd, o->tokens);
  prompt->excludes(tokens);
  cmd->add_option("-n,--max-new-tokens", o->s.max_new_tokens, "Tokens to generate")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--temperature", o->s.temperature, "Sampling temperature (0 = greedy)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-k", o->s.top_k, "Sample among the k most likely tokens (0 = all)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--top-p", o->s.top_p, "Nucleus sampling: smallest set with this much probability")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->s.seed, "Random seed (same seed, same output)")->capture_default_str();
  cmd->add_flag("--greedy", o->greedy, "Always take the most likely token (same as --temperature 0)");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after the end-of-text token");
  add_prepend_bos_flag(*cmd, o->prepend_bos);
  cmd->add_option("--intervene", o->intervene, "Interventions JSON file, active for every generated token");
  cmd->add_option("--profile", o->profile, "Profile JSON ({\"interventions\": [...], \"monitors\": [...]}): its "
                                           "interventions act and its monitors watch (events in --json)");
  // llama.cpp's flags: a file at strength 1, or a file and its strength; several add up.
  cmd->add_option("--control-vector", o->control_vectors, "llama.cpp control-vector GGUF, added at strength 1 "
                                                          "(repeatable)");
  cmd->add_option("--control-vector-scale", o->control_vector_scales,
                  "Strength of each --control-vector, in order (default 1)");
  cmd->add_flag("--control-vector-any-model", o->any_model, "Skip the controlvector.model_hint check");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            std::vector<int32_t> ids = input_tokens(m, o->prompt, o->tokens);
            if (o->prepend_bos) ids = with_bos(m, std::move(ids));
            SamplingOptions s = o->s;
            if (o->greedy) s.temperature = 0;
            if (m.tokenizer() && m.tokenizer()->eos_id() >= 0 && !o->ignore_eos)
              s.stop_tokens.push_back(m.tokenizer()->eos_id());
            Engine e(m);
            HookRegistry reg(m.config());
            const auto handles = attach_interventions_file(reg, o->intervene);
            if (o->control_vector_scales.size() > o->control_vectors.size())
              throw Error("generate: more --control-vector-scale values than --control-vector files");
            std::vector<HookHandle> cv_handles;
            for (size_t i = 0; i < o->control_vectors.size(); ++i) {
              const std::string& f = o->control_vectors[i];
              const float scale = i < o->control_vector_scales.size() ? o->control_vector_scales[i] : 1.f;
              for (auto& h : attach(reg, steering::control_vector_interventions(steering::read_control_vector(f),
                                                                                 m.config(), scale, f, !o->any_model)))
                cv_handles.push_back(std::move(h));
            }
            // A profile's interventions act after --intervene's and the control vectors.
            steering::Profile profile;
            if (!o->profile.empty()) {
              profile = steering::load_profile(o->profile);
              profile.check_fits(m.config(), o->profile);
            }
            const auto profile_handles = attach(reg, profile.interventions);
            const steering::MonitoredGeneration g = steering::generate_monitored(e, {ids}, s, profile.monitors, &reg);
            const std::vector<int32_t>& out = g.tokens.at(0);
            const Tokenizer* t = m.tokenizer();
            if (!o->json && !g.events.empty())
              std::fprintf(stderr, "%zu monitor events (first: %s at token %d, value %.4g, %s)\n", g.events.size(),
                           g.events[0].name.c_str(), g.events[0].token, g.events[0].value,
                           steering::to_string(g.events[0].action));
            if (o->json) {
              nlohmann::json j = {{"prompt_tokens", ids}, {"tokens", out}};
              if (!o->profile.empty()) {
                nlohmann::json ev = nlohmann::json::array();
                for (const auto& x : g.events) ev.push_back(x.to_json());
                j["events"] = ev;
                j["monitors"] = g.monitor_names;
              }
              j["text"] = t ? nlohmann::json(t->decode(out)) : nlohmann::json(nullptr);
              print_json(j);
            } else if (t) {
              const std::string text = t->decode(out);
              std::fwrite(text.data(), 1, text.size(), stdout);
              std::fputc('\n', stdout);
            } else {
              for (size_t i = 0; i < out.size(); ++i) std::printf(i ? ",%d" : "%d", out[i]);
              std::fputc('\n', stdout);
            }
            return 0;
          }};
}

}  // namespace glassbox::cli
