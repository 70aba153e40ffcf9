// glassbox tour: the end-to-end demo (see tour.cpp).
#include <memory>

#include "common.h"
#include "tour.h"

namespace glassbox::cli {

Command add_tour_command(CLI::App& parent) {
  auto o = std::make_shared<TourOptions>();
  CLI::App* cmd = parent.add_subcommand(
      "tour", "Walk through info, tokenize, run, cache and generate on the ioi organism, and write the HTML report "
              "of every shipped organism (random GPT-2 weights when none ships)");
  cmd->add_option("-o,--out", o->out, "Output directory (report, cache.safetensors; <out>/tiny-gpt2 without organisms)")
      ->capture_default_str();
  cmd->add_option("--prompt", o->prompt, "Prompt to run (default: an IOI sentence; a pangram for random weights)");
  cmd->add_option("-n,--max-new-tokens", o->new_tokens, "Tokens to generate greedily")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_json_flag(*cmd, o->json);
  return {cmd, [o] { return run_tour(*o); }};
}

}  // namespace glassbox::cli
