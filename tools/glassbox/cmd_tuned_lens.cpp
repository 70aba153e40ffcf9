// glassbox tuned-lens train: fit a tuned lens (per-layer affine translators,
// Belrose et al. 2023) on a text file or on the model's own samples, save it
// in the tuned-lens package's layout, and compare it with the logit lens.
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, text_file, out;
  int64_t sample = 0;
  int steps = 250;
  uint64_t seed = 0;
  bool json = false;
};

void print_comparison(const analysis::LensComparison& c) {
  std::printf("KL(final || lens) by layer, nats, %lld held-out positions\n", static_cast<long long>(c.positions));
  std::printf("  %-28s %10s %10s\n", "residual stream", "logit lens", "tuned lens");
  for (size_t l = 0; l < c.layers.size(); ++l)
    std::printf("  %-28s %10.4f %10.4f\n", c.layers[l].c_str(), c.logit_lens_kl[l], c.tuned_lens_kl[l]);
}

}  // namespace

Command add_tuned_lens_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* top = parent.add_subcommand("tuned-lens", "Tuned lens: train translators, compare with the logit lens");
  top->require_subcommand(1);
  CLI::App* cmd = top->add_subcommand("train", "Train a tuned lens and save it (apply it with `glassbox lens --tuned DIR`)");
  add_model_option(*cmd, o->model);
  auto* file = cmd->add_option("--text-file", o->text_file, "Training text (its last 10% is held out for the comparison)");
  auto* sample = cmd->add_option("--sample", o->sample, "Train on this many tokens sampled from the model instead")
                     ->check(CLI::PositiveNumber);
  file->excludes(sample);
  cmd->add_option("-o,--out", o->out, "Directory for config.json + params.safetensors")->required();
  cmd->add_option("--steps", o->steps, "Optimiser steps")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Seed for sampling and window order");
  add_json_flag(*cmd, o->json);
  return {top, [o] {
            const Model m = load_model(o->model);
            Engine e(m);
            std::vector<int32_t> tokens;
            if (!o->text_file.empty())
              tokens = require_tokenizer(m, "--text-file").encode(read_text_file(o->text_file));
            else if (o->sample > 0)
              tokens = sample_token_stream(e, o->sample, o->seed);
            else
              fail("give --text-file FILE or --sample N");
            const size_t held = tokens.size() / 10;
            const std::vector<int32_t> train(tokens.begin(), tokens.end() - std::ptrdiff_t(held));
            const std::vector<int32_t> test(tokens.end() - std::ptrdiff_t(held), tokens.end());
            if (test.size() < 2) fail("too little text: ", tokens.size(), " tokens (the last 10% is held out)");
            analysis::TunedLens lens = analysis::TunedLens::identity(m);
            lens.base_model = m.source();
            analysis::TunedLensTrainOptions to;
            to.steps = o->steps;
            to.seed = o->seed;
            to.seq_len = std::min<int64_t>(to.seq_len, m.config().n_ctx);
            const auto losses = analysis::train_tuned_lens(e, lens, train, to);
            lens.save(o->out);
            const auto cmp = analysis::compare_lenses(e, lens, test, to.seq_len);
            if (o->json) {
              print_json({{"out", o->out}, {"train_tokens", train.size()}, {"steps", o->steps},
                          {"final_loss", losses.empty() ? 0.0 : losses.back()}, {"comparison", cmp.to_json()}});
              return 0;
            }
            std::printf("trained on %zu tokens, %d steps (mean KL over layers %.4f -> %.4f); saved %s\n", train.size(),
                        o->steps, losses.empty() ? 0.0 : losses.front(), losses.empty() ? 0.0 : losses.back(),
                        o->out.c_str());
            print_comparison(cmp);
            return 0;
          }};
}

}  // namespace glassbox::cli
