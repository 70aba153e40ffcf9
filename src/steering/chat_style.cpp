// The tiny-lm-chat ground truth's data: prompts from the organism's recipe,
// benign held-out text, and completion pairs from two models.
#include "glassbox/steering/chat_style.h"

#include <algorithm>
#include <random>
#include <set>

#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

namespace glassbox::steering {

namespace {

constexpr const char* kOrganism = "tiny-lm-chat";
constexpr size_t kRestTokens = 4;  // of the fortune's continuation, in each style pair

struct Chat {
  std::vector<int32_t> prompt, response;
};

// Distinct chats of a recipe's batches: a row's loss starts at its response,
// so its prompt is every token up to the first target, its response the
// valid tokens after.
std::vector<Chat> draw_chats(const BatchFn& batches, size_t want, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::set<std::vector<int32_t>> seen;
  std::vector<Chat> out;
  for (int draws = 0; out.size() < want && draws < 400; ++draws) {
    const TrainBatch tb = batches(rng);
    const Batch& b = tb.batch;
    for (int64_t row = 0; row < b.B && out.size() < want; ++row)
      for (int64_t t = 0; t < b.T; ++t) {
        if (tb.targets[size_t(row * b.T + t)] < 0) continue;
        Chat c;
        c.prompt.assign(b.tokens.begin() + row * b.T, b.tokens.begin() + row * b.T + t + 1);
        for (int64_t u = t + 1; u < b.T && b.valid(row, u); ++u) c.response.push_back(b.tokens[size_t(row * b.T + u)]);
        if (seen.insert(c.prompt).second) out.push_back(std::move(c));
        break;
      }
  }
  return out;
}

}  // namespace

ChatStyleData chat_style_data(const Model& m, size_t n_train, size_t n_heldout, int64_t benign_tokens,
                              uint64_t seed) {
  const nlohmann::json manifest = zoo::read_manifest();
  const auto* entry = manifest.contains("organisms") && manifest["organisms"].contains(kOrganism)
                          ? &manifest["organisms"][kOrganism]
                          : nullptr;
  if (!entry || !entry->contains("metrics") || !(*entry)["metrics"].contains("marker"))
    fail("steering: ", kOrganism, " is not in the models manifest with its marker; train it with `glassbox zoo train ",
         kOrganism, "`");
  ChatStyleData d;
  d.marker = (*entry)["metrics"]["marker"].get<std::string>();
  const Tokenizer* tok = m.tokenizer();
  if (!tok) fail("steering: the model at ", m.source(), " has no tokenizer");
  const zoo::Recipe r = zoo::find_organism(kOrganism).recipe(zoo::data_dir());
  if (r.config.value("vocab_size", int64_t(-1)) != m.config().d_vocab)
    fail("steering: the model at ", m.source(), " has ", m.config().d_vocab, " tokens, ", kOrganism, " ",
         r.config.value("vocab_size", int64_t(-1)), "; use models/tiny-lm or models/", kOrganism);
  const std::vector<int32_t> marker = tok->encode(d.marker, false, false);
  for (const Chat& c : draw_chats(r.train_batches, n_train, seed)) {
    d.train_prompts.push_back(c.prompt);
    // The response's first tokens with the marker against the same tokens
    // without it: the pair differs in the style alone.
    if (c.response.size() < marker.size() + 1 || !std::equal(marker.begin(), marker.end(), c.response.begin()))
      fail("steering: a ", kOrganism, " training response does not open with the marker '", d.marker, "'");
    const size_t k = std::min(c.response.size() - marker.size(), kRestTokens);
    ContrastivePair p;
    p.prompt = c.prompt;
    p.positive.assign(c.response.begin(), c.response.begin() + std::ptrdiff_t(marker.size() + k));
    p.negative.assign(c.response.begin() + std::ptrdiff_t(marker.size()), c.response.begin() + std::ptrdiff_t(marker.size() + k));
    d.style_pairs.push_back(std::move(p));
  }
  for (const Chat& c : draw_chats(r.eval_batches, n_heldout, seed + 1)) d.heldout_prompts.push_back(c.prompt);
  const std::optional<int32_t> eot = tok->token_id("<|endoftext|>");
  for (const auto& doc : r.heldout_items) {
    if (int64_t(d.benign.size()) >= benign_tokens) break;
    if (eot) d.benign.push_back(*eot);
    const auto ids = tok->encode(doc, false, false);
    d.benign.insert(d.benign.end(), ids.begin(), ids.end());
  }
  if (int64_t(d.benign.size()) > benign_tokens) d.benign.resize(static_cast<size_t>(benign_tokens));
  return d;
}

std::vector<ContrastivePair> completion_pairs(Engine& positive, Engine& negative,
                                              const std::vector<std::vector<int32_t>>& prompts, int n_tokens) {
  if (positive.model().config().d_vocab != negative.model().config().d_vocab)
    fail("steering: the two models have different vocabularies (", positive.model().config().d_vocab, " and ",
         negative.model().config().d_vocab, " tokens)");
  SamplingOptions so;
  so.max_new_tokens = n_tokens;
  so.temperature = 0;
  const Generation gp = generate(positive, prompts, so), gn = generate(negative, prompts, so);
  std::vector<ContrastivePair> out;
  for (size_t i = 0; i < prompts.size(); ++i) out.push_back({prompts[i], gp.tokens[i], gn.tokens[i], {}});
  return out;
}

}  // namespace glassbox::steering
