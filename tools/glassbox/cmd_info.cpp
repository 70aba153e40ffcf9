// glassbox info: what a checkpoint is (config, parameters, storage, tokenizer).
#include <memory>

#include "common.h"

namespace glassbox::cli {

Command add_info_command(CLI::App& parent) {
  struct Opts {
    std::string model;
    bool json = false, tensors = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("info", "Show a model's configuration, size and storage");
  add_model_option(*cmd, o->model);
  cmd->add_flag("--tensors", o->tensors, "Also list the stored tensors (name, dtype, shape, zero-copy)");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            if (o->json) print_json(model_card_json(m, o->tensors));
            else print_model_card(m, o->tensors);
            return 0;
          }};
}

}  // namespace glassbox::cli
