// glassbox convert: a checkpoint written as a llama.cpp GGUF file, so that
// glassbox and llama.cpp can run the very same weights side by side; or, with
// --random, a random-weight Llama of any shape (an 8B-shaped one by default)
// written straight to a Q4_K_M file, block by block, for the large-model path
// (bench/large_model.sh): nothing full-precision is ever held in memory.
#include <chrono>
#include <filesystem>
#include <memory>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/gguf_export.h"
#include "glassbox/gguf_random.h"
#include "glassbox/progress.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

template <class Opts>
int convert_random(Opts& o, std::chrono::steady_clock::time_point t0) {
  if (o.files.size() != 1) fail("--random: give only OUT, the .gguf to write");
  if (!o.dtype.empty() && o.dtype != "q4_k_m")
    fail("--dtype ", o.dtype, ": --random writes q4_k_m (llama.cpp's mixture)");
  if (!o.tokenizer.empty() || !o.name.empty())
    fail("--random writes its own synthetic tokenizer and name; --tokenizer and --name do not apply");
  const RandomLlamaSpec spec = parse_random_llama_spec(o.random);
  const std::string& out = o.files[0];
  ProgressBar bar("write", "MB", o.json ? ProgressWhen::Never : ProgressWhen::Always);
  const uint64_t bytes = write_random_llama_gguf(spec, out, [&bar](uint64_t done, uint64_t total) {
    bar.update(int64_t(done >> 20), int64_t(total >> 20));
  });
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const nlohmann::json j = {{"random", o.random},       {"out", out},
                            {"architecture", "llama"}, {"dtype", "q4_k_m"},
                            {"layers", spec.n_layers}, {"d_model", spec.d_model},
                            {"vocab", spec.d_vocab},   {"bytes", bytes},
                            {"tokenizer", true},       {"seconds", secs}};
  if (o.json) print_json(j);
  else
    std::printf("wrote %s: random GGUF 'llama' (%s), q4_k_m, %.1f MB, synthetic tokenizer, %.1f s\n", out.c_str(),
                o.random.c_str(), double(bytes) / 1e6, secs);
  return 0;
}

}  // namespace

Command add_convert_command(CLI::App& parent) {
  struct Opts {
    std::vector<std::string> files;
    std::string model, out, dtype, tokenizer, name, random;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "convert", "Write a model as a llama.cpp GGUF file (architecture gpt2 or llama) with its tokenizer");
  cmd->add_option("files", o->files,
                  "MODEL OUT: the checkpoint to convert (directory, .safetensors or .gguf) and the .gguf to "
                  "write (atomically); with --random only OUT")
      ->required()
      ->expected(1, 2);
  cmd->add_option("--dtype", o->dtype,
                  "Weight matrices' dtype; norms and biases stay f32 (f32 or f16; q4_k_m, the default, with --random)")
      ->check(CLI::IsMember({"f32", "f16", "q4_k_m"}));
  cmd->add_option("--random", o->random,
                  "Write a random-weight Llama instead of converting: llama3-8b[,key=value...] "
                  "(layers, d_model, heads, kv_heads, d_mlp, vocab, ctx, rope_theta, eps, seed), Q4_K_M, "
                  "with a synthetic byte-level BPE vocabulary");
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer to embed instead of the model's own (tokenizer.json, a directory, or a .gguf)");
  cmd->add_option("--name", o->name, "general.name (default: the model's file name)");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const auto t0 = std::chrono::steady_clock::now();
            if (!o->random.empty()) return convert_random(*o, t0);
            if (o->files.size() != 2) fail("convert: give MODEL and OUT (or --random SPEC and OUT)");
            if (o->dtype.empty()) o->dtype = "f32";
            if (o->dtype == "q4_k_m") fail("--dtype q4_k_m: written only with --random (convert writes f32 or f16)");
            o->model = o->files[0];
            o->out = o->files[1];
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
