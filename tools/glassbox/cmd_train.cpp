// glassbox train CONFIG.json: train a model of any supported family on a text
// file with its tokenizer; saves HF safetensors + config.json + tokenizer.json.
//
// {
//   "model": { ...a config.json object: "model_type": "gpt2", "n_embd": 128, ... },
//   "init_from": "dir",                 // instead of "model": fine-tune a checkpoint
//   "tokenizer": "tokenizer.json",
//   "data": {"text": "corpus.txt", "val_fraction": 0.05, "batch_size": 8, "seq_len": 128},
//   "train": { "steps": 2000, "optimizer": {"kind": "adamw", "lr": 1e-3}, "out_dir": "out/my-model", ... }
// }
#include <filesystem>
#include <fstream>
#include <memory>

#include "common.h"
#include "glassbox/dist.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/text_data.h"
#include "glassbox/tokenizer.h"
#include "glassbox/train.h"

namespace fs = std::filesystem;

namespace glassbox::cli {

namespace {

// Relative paths in the config are relative to the config file.
std::string rel(const fs::path& base, const std::string& p) {
  return fs::path(p).is_relative() ? (base / p).string() : p;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  struct Opts {
    std::string config;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("train", "Train or fine-tune a model from a JSON config (see --help)");
  cmd->footer("Config: {\"model\": {config.json fields} | \"init_from\": DIR, \"tokenizer\": FILE, "
              "\"data\": {\"text\": FILE, \"val_fraction\": 0.05, \"batch_size\": 8, \"seq_len\": 128}, "
              "\"train\": {\"steps\", \"optimizer\": {\"kind\": adamw|sgd, \"lr\", \"weight_decay\", ...}, "
              "\"schedule\": {\"warmup_steps\", \"min_lr_ratio\", \"decay\": cosine|linear|constant}, \"grad_clip\", \"seed\", \"eval_every\", "
              "\"checkpoint_every\", \"out_dir\"}}. An interrupted run resumes from out_dir/checkpoint.");
  cmd->add_option("config", o->config, "Training config (JSON)")->required()->check(CLI::ExistingFile);
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            // Field reads below throw nlohmann exceptions on a mistyped field; they
            // must arrive as an Error naming the config file like every other problem.
            try {
              const nlohmann::json j = read_json_file(o->config);
              const fs::path base = fs::path(o->config).parent_path();
              if (!j.contains("data") || !j["data"].contains("text"))
                fail(o->config, ": expected \"data\": {\"text\": FILE, ...}");
              if (!j.contains("tokenizer")) fail(o->config, ": expected \"tokenizer\": a tokenizer.json file");
              TrainConfig tc;
              try {
                tc = TrainConfig::from_json(j.value("train", nlohmann::json::object()));
              } catch (const Error& e) {
                fail(o->config, ": ", e.what());  // from_json does not know the file
              }
              if (tc.out_dir.empty()) fail(o->config, ": expected \"train\": {\"out_dir\": DIR}");
              tc.out_dir = rel(base, tc.out_dir);
              const std::string tok_path = rel(base, j["tokenizer"].get<std::string>());
              const Tokenizer tok = Tokenizer::from_file(tok_path);

              if (!j.contains("init_from") && !j.contains("model"))
                fail(o->config, ": expected \"model\" (a config.json object) or \"init_from\" (a checkpoint)");
              Trainable tr = j.contains("init_from") ? Trainable::load(rel(base, j["init_from"].get<std::string>()))
                                                     : Trainable::init(j["model"], tc.seed);
              if (tok.vocab_size() > tr.model().config().d_vocab)
                fail(o->config, ": the tokenizer has ", tok.vocab_size(), " tokens but the model's vocabulary is ",
                     tr.model().config().d_vocab);

              const auto& d = j["data"];
              const int batch = d.value("batch_size", 8), seq = d.value("seq_len", 128);
              if (seq > tr.model().config().n_ctx)
                fail(o->config, ": data.seq_len ", seq, " exceeds the model's context of ", tr.model().config().n_ctx);
              const TokenSplit split =
                  split_tokens(tok.encode(read_text_file(rel(base, d["text"].get<std::string>()))), d.value("val_fraction", 0.05));
              tc.ranks = &dist::world();  // under mpirun: data-parallel, gradients summed across ranks
              tc.progress = tc.progress && tc.ranks->root();
              const TrainResult r = train(tr, tc, random_windows(split.train, batch, seq),
                                          sequential_windows(split.val, batch, seq));
              if (!tc.ranks->root()) return 0;  // rank 0 reports for all
              fs::copy_file(tok_path, fs::path(tc.out_dir) / "tokenizer.json", fs::copy_options::overwrite_existing);
              const double unigram = unigram_loss(*split.train, *split.val, tr.model().config().d_vocab);
              const nlohmann::json out = {{"out_dir", tc.out_dir}, {"steps", r.steps_done}, {"resumed", r.resumed},
                                          {"n_params", tr.n_params()}, {"final_train_loss", r.log.empty() ? -1 : r.log.back().loss},
                                          {"final_eval_loss", r.final_eval_loss}, {"unigram_eval_loss", unigram}};
              if (o->json) {
                print_json(out);
              } else {
                std::printf("trained %lld parameters for %d steps%s\n", (long long)tr.n_params(), r.steps_done,
                            r.resumed ? " (resumed)" : "");
                std::printf("final train loss %.4f, validation loss %.4f (unigram baseline %.4f)\n",
                            out["final_train_loss"].get<double>(), r.final_eval_loss, unigram);
                std::printf("saved %s\n", tc.out_dir.c_str());
              }
              return 0;
            } catch (const nlohmann::json::exception& e) {
              fail(o->config, ": ", e.what());
            }
          }};
}

}  // namespace glassbox::cli
