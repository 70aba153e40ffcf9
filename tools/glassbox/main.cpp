// glassbox: the command-line front end. Global flags here; each command
// lives in its own cmd_*.cpp.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include <CLI/CLI.hpp>

#include "common.h"
#include "glassbox/dist.h"
#include "glassbox/error.h"
#include "glassbox/threads.h"

int main(int argc, char** argv) {
  glassbox::ensure_passive_openmp(argv);
  using namespace glassbox::cli;
  CLI::App app{"glassbox: mechanistic interpretability of transformer language models"};
  app.name("glassbox");
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command name
  int threads = int(std::thread::hardware_concurrency());
  app.add_option("--threads", threads, "Worker threads for the kernels (default: hardware concurrency)")
      ->check(CLI::PositiveNumber);

  const std::vector<Command> commands = {
      add_info_command(app),     add_tokenize_command(app), add_hooks_command(app), add_run_command(app),
      add_generate_command(app), add_cache_command(app),    add_tour_command(app),
      add_zoo_command(app),      add_train_command(app),    add_tokenizer_command(app),
      add_lens_command(app),     add_dla_command(app),      add_heads_command(app),  add_patch_command(app),
      add_circuit_command(app),  add_tuned_lens_command(app),
      add_compare_command(app),
      add_explain_command(app),
      add_harvest_command(app),
      add_probe_command(app),
      add_dashboard_command(app),
      add_sae_command(app),
      add_steer_command(app),
      add_edit_command(app),
      add_convert_command(app),
      add_monitor_command(app),
      add_trace_command(app),
      add_diff_command(app),
      add_known_command(app),
      add_serve_command(app),
      add_constitution_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  try {
    glassbox::set_num_threads(threads > 0 ? threads : 1);
    for (const Command& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const std::exception& e) {  // glassbox::Error and anything else
    std::fflush(stdout);
    std::fprintf(stderr, "glassbox: error: %s\n", e.what());
    glassbox::dist::abort_others(1);  // under mpirun: the other ranks may be waiting for this one
    return 1;
  }
  return 0;
}
