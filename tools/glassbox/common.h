// What the commands share: the flags every command has (--model, --json,
// --tokens), model and input loading, and printing helpers.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "glassbox/cache.h"
#include "glassbox/enum_string.h"
#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "glassbox/model.h"
#include "glassbox/predictions.h"

namespace glassbox {
class Tokenizer;
}

namespace glassbox::cli {

// A subcommand and what runs when it was chosen (returns the exit code).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// A command that is only a group (`glassbox steer build|sweep|...`): exactly
// one of `subs` (subcommands of `group`) must be given, and that one runs.
Command command_group(CLI::App* group, std::vector<Command> subs);

Command add_info_command(CLI::App& parent);
Command add_tokenize_command(CLI::App& parent);
Command add_hooks_command(CLI::App& parent);
Command add_run_command(CLI::App& parent);
Command add_generate_command(CLI::App& parent);
Command add_cache_command(CLI::App& parent);
Command add_tour_command(CLI::App& parent);
Command add_zoo_command(CLI::App& parent);
Command add_train_command(CLI::App& parent);
Command add_tokenizer_command(CLI::App& parent);
Command add_lens_command(CLI::App& parent);
Command add_dla_command(CLI::App& parent);
Command add_heads_command(CLI::App& parent);
Command add_patch_command(CLI::App& parent);
Command add_circuit_command(CLI::App& parent);
Command add_compare_command(CLI::App& parent);
Command add_tuned_lens_command(CLI::App& parent);
Command add_explain_command(CLI::App& parent);
Command add_harvest_command(CLI::App& parent);
Command add_probe_command(CLI::App& parent);
Command add_dashboard_command(CLI::App& parent);
Command add_sae_command(CLI::App& parent);
Command add_steer_command(CLI::App& parent);
Command add_convert_command(CLI::App& parent);
Command add_monitor_command(CLI::App& parent);
Command add_edit_command(CLI::App& parent);
Command add_trace_command(CLI::App& parent);
Command add_diff_command(CLI::App& parent);
Command add_known_command(CLI::App& parent);
Command add_serve_command(CLI::App& parent);
Command add_constitution_command(CLI::App& parent);

// Where `glassbox tour` writes its checkpoint: the --model default when the
// shipped organism (zoo::default_model(), models/ioi) is absent.
inline constexpr const char* kDefaultModel = "out/tour/tiny-gpt2";

// ---- flags
CLI::Option* add_model_option(CLI::App& cmd, std::string& path);
CLI::Option* add_json_flag(CLI::App& cmd, bool& json);
CLI::Option* add_tokens_option(CLI::App& cmd, std::string& csv);

// ---- loading
std::string resolve_model_path(const std::string& flag);  // the default when empty
Model load_model(const std::string& flag);
const Tokenizer& require_tokenizer(const Model& m, const std::string& what);
// The command's input tokens: --tokens if given, else `text` through the
// model's tokenizer (with its special tokens). Error if both or neither.
std::vector<int32_t> input_tokens(const Model& m, const std::string& text, const std::string& tokens_csv);
// --prepend-bos (TransformerLens' prepend_bos) for the commands that generate:
// a GPT-2 BPE tokenizer adds no BOS, yet models trained on rows that begin
// with <|endoftext|> (facts-lm) answer off their distribution without it.
void add_prepend_bos_flag(CLI::App& cmd, bool& flag);
// `ids` with the tokenizer's BOS first unless they start with it; error if it has none.
std::vector<int32_t> with_bos(const Model& m, std::vector<int32_t> ids);
std::string read_text_file(const std::string& path);
// Loads interventions from a JSON file (see interventions.h) and attaches them
// to `reg` as replace hooks; an empty path attaches nothing.
std::vector<HookHandle> attach_interventions_file(HookRegistry& reg, const std::string& path);

// ---- parsing flag values
// "1,2,3" or "1 2 3".
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& flag);
std::vector<int32_t> parse_token_ids(const std::string& s, const std::string& flag);
// "4096", "512K", "512KiB", "1.5GiB" (K = KiB = 1024; KB = 1000).
size_t parse_bytes(const std::string& s, const std::string& flag);

// ---- printing
std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// Bytes shown safely on a terminal: control characters and invalid UTF-8 as escapes.
std::string escape_text(std::string_view bytes);
// How a token reads in human output: its decoded text, quoted, or "#id" without a tokenizer.
std::string token_label(const Model& m, int32_t id);
// JSON for a token's text (null without a tokenizer).
nlohmann::json token_text_json(const Model& m, int32_t id);
void print_json(const nlohmann::json& j);  // invalid UTF-8 replaced, not an exception
nlohmann::json shape_json(const Shape& s);
// A cache's entries sorted into the order the forward pass fires the hooks.
std::vector<const std::pair<std::string, Tensor>*> entries_in_hook_order(const ActivationCache& c, const Config& cfg);

// ---- enumerated flags
// --flag VALUE stored into `target` as the library's from_string<E> spells
// it; anything else is a usage error (CLI11's, so it is reported like a
// missing argument, not thrown out of parsing) naming the flag and the choices.
template <class E>
CLI::Option* add_choice_option(CLI::App* cmd, const std::string& flag, E& target, const std::string& help) {
  return cmd->add_option_function<std::string>(
      flag,
      [flag, &target](const std::string& v) {
        try {
          target = from_string<E>(v);
        } catch (const Error& e) {
          throw CLI::ValidationError(flag, e.what());
        }
      },
      help);
}

// ---- model card (info, tour)
nlohmann::json model_card_json(const Model& m, bool with_tensors);
void print_model_card(const Model& m, bool with_tensors);

// ---- next-token predictions (run, tour; glassbox/predictions.h computes them)
void print_predictions(const Model& m, const std::vector<Prediction>& ps);

}  // namespace glassbox::cli
