// Helpers shared by the analysis tests: fixtures and a tiny induction model
// trained in-process (once per build: saved under the build directory).
#pragma once
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "glassbox/metrics.h"
#include "glassbox/model.h"
#include "glassbox/train.h"

namespace antest {

inline std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

inline std::vector<int32_t> random_tokens(int n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = int32_t(rng() % unsigned(vocab));
  return t;
}

constexpr int kIndVocab = 32, kIndHalf = 10;

inline nlohmann::json induction_config() {
  return {{"model_type", "hooked_transformer"}, {"n_layers", 2}, {"d_model", 32}, {"n_heads", 4}, {"d_head", 8},
          {"d_vocab", kIndVocab}, {"n_ctx", 2 * kIndHalf}, {"attn_only", true}, {"normalization_type", "LN"},
          {"positional_embedding_type", "standard"}};
}

// Rows r r with r of kIndHalf distinct random tokens: only induction lowers the loss on the second copy.
inline glassbox::TrainBatch induction_batch(std::mt19937_64& rng) {
  std::vector<std::vector<int32_t>> rows;
  std::vector<int32_t> pool(kIndVocab);
  for (int i = 0; i < kIndVocab; ++i) pool[size_t(i)] = i;
  for (int b = 0; b < 16; ++b) {
    std::shuffle(pool.begin(), pool.end(), rng);
    std::vector<int32_t> r(pool.begin(), pool.begin() + kIndHalf);
    r.insert(r.end(), pool.begin(), pool.begin() + kIndHalf);
    rows.push_back(r);
  }
  glassbox::TrainBatch tb{glassbox::Batch::from_rows(rows), {}};
  tb.targets = glassbox::next_token_targets(tb.batch);
  return tb;
}

// The trained 2-layer attention-only model (trained on first use, then loaded).
inline std::string induction_model_dir() {
  const std::filesystem::path dir = std::filesystem::path(GLASSBOX_BINARY_DIR) / "analysis_test_induction_v1";
  if (!std::filesystem::exists(dir / "model.safetensors")) {
    glassbox::Trainable tr = glassbox::Trainable::init(induction_config(), 3);
    glassbox::TrainConfig c;
    c.steps = 400;
    c.optimizer.lr = 1e-2f;
    c.schedule.warmup_steps = 20;
    c.progress = false;
    c.eval_every = 0;
    c.log_every = 50;
    c.seed = 5;
    glassbox::train(tr, c, induction_batch);
    tr.save(dir.string());
  }
  return dir.string();
}

}  // namespace antest
