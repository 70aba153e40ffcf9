// glassbox run: next-token predictions for a prompt, or mean loss and
// perplexity over a text file. Interventions (--intervene) apply to both.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, prompt, tokens, text_file, intervene;
  int k = 10;
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

// -log softmax(logits)[target] in double: float accumulation over a large
// vocabulary loses digits the perplexity of a good model needs.
double token_loss(const float* logits, int64_t V, int32_t target) {
  const double mx = *std::max_element(logits, logits + V);
  double sum = 0;
  for (int64_t i = 0; i < V; ++i) sum += std::exp(double(logits[i]) - mx);
  return -(double(logits[target]) - mx - std::log(sum));
}

int perplexity(const Opts& o, const Model& m, Engine& e, const HookRegistry& reg) {
  const Tokenizer& tok = require_tokenizer(m, "--text-file");
  const std::vector<int32_t> ids = tok.encode(read_text_file(o.text_file), /*add_special=*/true,
                                              /*parse_special=*/false);
  if (ids.size() < 2) fail(o.text_file, ": needs at least 2 tokens to measure loss, has ", ids.size());
  const int64_t V = m.config().d_vocab;
  const size_t n_ctx = size_t(m.config().n_ctx);
  if (n_ctx < 2) fail("model context of ", n_ctx, " tokens is too short to measure loss");
  // Windows overlap by one token, so every token after the first is predicted exactly once.
  std::vector<size_t> starts;
  for (size_t s = 0; s + 1 < ids.size(); s += n_ctx - 1) starts.push_back(s);
  const bool progress = isatty(STDERR_FILENO) && starts.size() > 1;
  double total = 0;
  size_t count = 0;
  for (size_t w = 0; w < starts.size(); ++w) {
    if (progress) std::fprintf(stderr, "\rrun: window %zu/%zu", w + 1, starts.size());
    const size_t s = starts[w], len = std::min(n_ctx, ids.size() - s);
    const std::vector<int32_t> window(ids.begin() + std::ptrdiff_t(s), ids.begin() + std::ptrdiff_t(s + len));
    const Tensor logits = e.forward(Batch::single(window), &reg).logits;
    for (size_t t = 0; t + 1 < len; ++t, ++count) total += token_loss(logits.f32() + int64_t(t) * V, V, window[t + 1]);
  }
  if (progress) std::fprintf(stderr, "\r%*s\r", 40, "");
  const double loss = total / double(count);
  if (o.json) {
    print_json({{"file", o.text_file},
                {"tokens", ids.size()},
                {"tokens_evaluated", count},
                {"windows", starts.size()},
                {"loss", loss},
                {"ppl", std::exp(loss)}});
    return 0;
  }
  std::printf("%s: %zu tokens, %zu evaluated in %zu window(s) of at most %zu\n", o.text_file.c_str(), ids.size(),
              count, starts.size(), n_ctx);
  std::printf("  loss  %.6f nats/token\n  ppl   %.4f\n", loss, std::exp(loss));
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
