// glassbox convert: a checkpoint written as a llama.cpp GGUF file, so that
// glassbox and llama.cpp can run the very same weights side by side.
#include <chrono>
#include <filesystem>
#include <memory>

#include "common.h"
#include "glassbox/gguf_export.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

Command add_convert_command(CLI::App& parent) {
  struct Opts {
    std::string model, out, dtype = "f32", tokenizer, name;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "convert", "Write a model as a llama.cpp GGUF file (architecture gpt2 or llama) with its tokenizer");
  cmd->add_option("model", o->model, "Checkpoint to convert (directory, .safetensors or .gguf)")->required();
  cmd->add_option("out", o->out, "Output .gguf file (written atomically)")->required();
  cmd->add_option("--dtype", o->dtype, "Weight matrices' dtype; norms and biases stay f32")
      ->check(CLI::IsMember({"f32", "f16"}));
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer to embed instead of the model's own (tokenizer.json, a directory, or a .gguf)");
  cmd->add_option("--name", o->name, "general.name (default: the model's file name)");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const auto t0 = std::chrono::steady_clock::now();
            const Model m = Model::load(o->model);
            std::unique_ptr<Tokenizer> tok;
            if (!o->tokenizer.empty()) tok = std::make_unique<Tokenizer>(Tokenizer::from_file(o->tokenizer));
            GgufExportOptions opt;
            opt.dtype = from_string<DType>(o->dtype);
            opt.name = o->name;
            opt.tokenizer = tok.get();
            if (!o->json) std::fprintf(stderr, "converting %s -> %s (%s)...\n", o->model.c_str(), o->out.c_str(), o->dtype.c_str());
            save_gguf(m, o->out, opt);
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            const Tokenizer* used = tok ? tok.get() : m.tokenizer();
            const nlohmann::json j = {{"model", o->model},
                                      {"out", o->out},
                                      {"architecture", gguf_architecture(m.config())},
                                      {"dtype", o->dtype},
                                      {"bytes", std::filesystem::file_size(o->out)},
                                      {"tokenizer", used != nullptr},
                                      {"seconds", secs}};
            if (o->json) {
              print_json(j);
            } else {
              std::printf("wrote %s: GGUF '%s', %s, %.1f MB, %s, %.1f s\n", o->out.c_str(),
                          j["architecture"].get<std::string>().c_str(), o->dtype.c_str(),
                          double(j["bytes"].get<uint64_t>()) / 1e6,
                          used ? "with tokenizer" : "no tokenizer (llama.cpp needs one to load it)", secs);
            }
            return 0;
          }};
}

}  // namespace glassbox::cli
