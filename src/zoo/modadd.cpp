// modadd: a + b mod 113 with a held-out split of the pairs — the grokking
// organism of Nanda et al. 2023 ("Progress measures for grokking via
// mechanistic interpretability"): 1 layer, no LayerNorm, ReLU MLP, AdamW with
// weight decay 1.0, full-batch training on a fraction of all pairs. The
// generalising solution it finds represents a and b by a few Fourier
// frequencies and adds them with trig identities.
#include "glassbox/engine.h"
#include "zoo/detail.h"

namespace glassbox::zoo::detail {

namespace {

constexpr int kP = 113;
constexpr double kTrainFraction = 0.5;

struct Split {
  std::vector<std::pair<int, int>> train, test;
};

Split split_pairs(uint64_t seed) {
  std::vector<std::pair<int, int>> all;
  for (int a = 0; a < kP; ++a)
    for (int b = 0; b < kP; ++b) all.push_back({a, b});
  std::mt19937_64 rng(seed);
  shuffle(all, rng);
  const auto n = static_cast<size_t>(kTrainFraction * double(all.size()));
  return {{all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n)},
          {all.begin() + static_cast<std::ptrdiff_t>(n), all.end()}};
}

// " a b =" -> " c": number tokens 0..112 are their values, 113 is " =".
Example example(int a, int b) { return {{a, b, kP}, 3, (a + b) % kP}; }

std::vector<std::string> pair_keys(const std::vector<std::pair<int, int>>& v) {
  std::vector<std::string> out;
  for (auto [a, b] : v) out.push_back(std::to_string(a) + "+" + std::to_string(b));
  return out;
}

nlohmann::json accuracy(const Model& m, const std::vector<std::pair<int, int>>& pairs, const char* name) {
  std::vector<std::vector<int32_t>> prompts;
  for (auto [a, b] : pairs) prompts.push_back({a, b, kP});
  const std::vector<float> L = last_logits(m, prompts);
  const int64_t V = m.config().d_vocab;
  double correct = 0, loss = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const float* row = L.data() + i * static_cast<size_t>(V);
    const int32_t c = (pairs[i].first + pairs[i].second) % kP;
    correct += argmax(row, V) == c;
    loss -= log_prob(row, V, c);
  }
  const double n = double(pairs.size());
  return {{std::string(name) + "_accuracy", correct / n}, {std::string(name) + "_loss", loss / n}};
}

Recipe recipe(uint64_t seed) {
  Recipe r;
  r.config = {{"model_type", "hooked_transformer"},
              {"n_layers", 1},
              {"d_model", 128},
              {"n_heads", 4},
              {"d_head", 32},
              {"d_mlp", 512},
              {"d_vocab", kP + 1},
              {"n_ctx", 3},
              {"act_fn", "relu"},
              {"normalization_type", nullptr},
              {"positional_embedding_type", "standard"}};
  Split s = split_pairs(seed);
  std::vector<Example> train;
  for (auto [a, b] : s.train) train.push_back(example(a, b));
  std::vector<Example> test;
  for (auto [a, b] : s.test) test.push_back(example(a, b));
  r.train_batches = sample_batches(std::move(train), 1024);
  r.eval_batches = sample_batches(std::move(test), 1024);
  r.train.steps = 1500;
  r.train.optimizer.lr = 1e-3f;
  r.train.optimizer.weight_decay = 1.0f;
  r.train.optimizer.beta2 = 0.98f;
  r.train.schedule.warmup_steps = 10;
  r.train.schedule.decay = Decay::Constant;
  r.train.grad_clip = 0;
  r.train.eval_every = 100;
  r.train.eval_batches = 1;
  r.train.log_every = 10;
  r.evaluate = [s](const Model& m) {
    nlohmann::json j = accuracy(m, s.test, "test");
    j.update(accuracy(m, s.train, "train"));
    j["p"] = kP;
    j["train_fraction"] = kTrainFraction;
    return j;
  };
  r.train_items = pair_keys(s.train);
  r.heldout_items = pair_keys(s.test);
  return r;
}

nlohmann::json tokenizer_json() {
  // Numbers and "=" as words with a leading space: " 12 5 =" -> " 7". Built by
  // hand so ids equal values (the generic WordVocab reserves id 0 for <unk>).
  nlohmann::json vocab = nlohmann::json::object();
  for (int i = 0; i < kP; ++i) vocab["\xC4\xA0" + std::to_string(i)] = i;
  vocab["\xC4\xA0="] = kP;
  const nlohmann::json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                                     {"use_regex", true}};
  return {{"version", "1.0"},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level},
          {"post_processor", nullptr},
          {"decoder", byte_level},
          {"model",
           {{"type", "BPE"}, {"ignore_merges", true}, {"byte_fallback", false}, {"vocab", vocab},
            {"merges", nlohmann::json::array()}}}};
}

}  // namespace

Organism modadd_organism() {
  Organism o;
  o.name = "modadd";
  o.description = "a + b mod 113 (\" a b =\" -> \" c\"), 1-layer ReLU transformer, 50% of pairs trained";
  o.ground_truth =
      "Fourier features: embeddings and MLP neurons use a few key frequencies w_k = 2 pi k / 113; "
      "logits are sums of cos(w_k (a + b - c)) (Nanda et al. 2023)";
  o.seed = 113;
  o.checks = {{"test_accuracy", 0.99}};
  o.recipe = [seed = o.seed](const std::string&) {
    Recipe r = recipe(seed);
    r.tokenizer = tokenizer_json();
    return r;
  };
  return o;
}

}  // namespace glassbox::zoo::detail
