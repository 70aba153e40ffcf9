// glassbox tour: the end-to-end demo (see tour.cpp).
#include <memory>

#include "common.h"
#include "tour.h"

namespace glassbox::cli {

Command add_tour_command(CLI::App& parent) {
  auto o = std::make_shared<TourOptions>();
  CLI::App* cmd = parent.add_subcommand(
      "tour", "Create a tiny random GPT-2 (if absent) and walk through info, tokenize, run, cache and generate");
  cmd->add_option("-o,--out", o->out, "Output directory (checkpoint in <out>/tiny-gpt2, cache in <out>/cache.safetensors)")
      ->capture_default_str();
  cmd->add_option("--prompt", o->prompt, "Prompt to run")->capture_default_str();
  cmd->add_option("-n,--max-new-tokens", o->new_tokens, "Tokens to generate greedily")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_json_flag(*cmd, o->json);
  return {cmd, [o] { return run_tour(*o); }};
}

}  // namespace glassbox::cli
