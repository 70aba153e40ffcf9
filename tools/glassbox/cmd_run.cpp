// glassbox run: next-token predictions for a prompt, or mean loss and
// perplexity over a text file (overlapping windows of the model's context, or
// llama-perplexity's chunks with --llama-ctx). Interventions (--intervene)
// apply to all.
#include <memory>

#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/progress.h"
#include "glassbox/stream_loss.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, prompt, tokens, text_file, intervene;
  int k = 10;
  int64_t llama_ctx = 0, chunks = 0;
  bool json = false;
};

int predict(const Opts& o, const Model& m, Engine& e, const HookRegistry& reg) {
  const std::vector<int32_t> ids = input_tokens(m, o.prompt, o.tokens);
  ForwardOptions fo;
  fo.logits = LogitsMode::Last;
  const Tensor logits = e.forward(Batch::single(ids), &reg, nullptr, fo).logits;
  const auto top = top_predictions(logits.f32(), m.config().d_vocab, o.k);
  if (o.json) {
    print_json({{"tokens", ids}, {"position", ids.size() - 1}, {"top", to_json(top, m)}});
    return 0;
  }
  std::printf("prompt: %zu tokens", ids.size());
  if (m.tokenizer()) std::printf("  '%s'", escape_text(m.tokenizer()->decode(ids)).c_str());
  std::printf("\nnext token after position %zu:\n", ids.size() - 1);
  print_predictions(m, top);
  return 0;
}

int perplexity(const Opts& o, const Model& m, Engine& e, const HookRegistry& reg) {
  const Tokenizer& tok = require_tokenizer(m, "--text-file");
  const std::vector<int32_t> ids = tok.encode(read_text_file(o.text_file), /*add_special=*/true,
                                              /*parse_special=*/false);
  if (ids.size() < 2) fail(o.text_file, ": needs at least 2 tokens to measure loss, has ", ids.size());
  const bool llama = o.llama_ctx > 0;
  ProgressBar bar("run", llama ? "chunks" : "windows");
  const auto progress = [&bar](size_t w, size_t n) {
    if (n > 1) bar.update(int64_t(w + 1), int64_t(n));
  };
  // llama-perplexity puts BOS at every chunk's start when the vocabulary adds BOS.
  const int32_t bos = tok.add_bos() ? tok.bos_id() : -1;
  const StreamLoss r = llama ? chunked_loss(e, ids, {o.llama_ctx, bos, o.chunks}, &reg, progress)
                             : stream_loss(e, ids, &reg, progress);
  if (o.json) {
    nlohmann::json j = {{"file", o.text_file}};
    j.update(r.to_json());
    if (llama) j.update({{"protocol", "llama-perplexity"}, {"n_ctx", o.llama_ctx}, {"bos", bos}});
    print_json(j);
    return 0;
  }
  if (llama)
    std::printf("%s: %lld tokens, %lld evaluated in %lld chunk(s) of %lld (llama-perplexity's protocol)\n",
                o.text_file.c_str(), (long long)r.tokens, (long long)r.tokens_evaluated, (long long)r.windows,
                (long long)o.llama_ctx);
  else
    std::printf("%s: %lld tokens, %lld evaluated in %lld window(s) of at most %d\n", o.text_file.c_str(),
                (long long)r.tokens, (long long)r.tokens_evaluated, (long long)r.windows, m.config().n_ctx);
  std::printf("  loss  %.6f nats/token\n  ppl   %.4f\n", r.loss, r.ppl());
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "run", "Top-k next-token predictions for a prompt, or loss and perplexity over a text file");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt text");
  auto* tokens = add_tokens_option(*cmd, o->tokens);
  cmd->add_option("-k,--top-k", o->k, "How many predictions to show")->check(CLI::PositiveNumber);
  auto* file = cmd->add_option("--text-file", o->text_file,
                               "Mean next-token loss and perplexity over this file (windows of n_ctx tokens)");
  auto* llama_ctx = cmd->add_option(
      "--llama-ctx", o->llama_ctx,
      "With --text-file: llama-perplexity's protocol, disjoint chunks of N tokens, BOS at each chunk's start, "
      "the second half of each chunk scored (compare with llama-perplexity -c N)");
  llama_ctx->check(CLI::Range(int64_t{2}, int64_t{1} << 30))->needs(file);
  cmd->add_option("--chunks", o->chunks, "With --llama-ctx: score at most this many chunks (llama-perplexity --chunks)")
      ->check(CLI::PositiveNumber)
      ->needs(llama_ctx);
  cmd->add_option("--intervene", o->intervene, "Interventions JSON file (zero_ablate, patch, add_vector ...)");
  add_json_flag(*cmd, o->json);
  prompt->excludes(tokens)->excludes(file);
  tokens->excludes(file);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            Engine e(m);
            HookRegistry reg(m.config());
            const auto handles = attach_interventions_file(reg, o->intervene);
            return o->text_file.empty() ? predict(*o, m, e, reg) : perplexity(*o, m, e, reg);
          }};
}

}  // namespace glassbox::cli
