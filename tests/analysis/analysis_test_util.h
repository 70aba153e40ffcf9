// Helpers shared by the analysis tests: fixtures and a 2-layer attention-only
// induction model built by hand (deterministic and instant, unlike training).
#pragma once
#include <random>
#include <string>
#include <vector>

#include "glassbox/analysis/circuit.h"
#include "glassbox/metrics.h"
#include "glassbox/model.h"
#include "glassbox/train.h"
#include "glassbox/trainable.h"

namespace antest {

inline std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

inline std::vector<int32_t> random_tokens(int n, int vocab, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = int32_t(rng() % unsigned(vocab));
  return t;
}

// Residual stream of the hand-built model: four one-hot subspaces of width 16,
//   [token | position | previous token | output].
// Layer 0 head 0 is a previous-token head (QK on positions: query p matches key
// p - 1; OV copies the key's token into "previous token"). Layer 1 head 0 is an
// induction head (QK: query token matches a key's previous token; OV copies the
// key's token into "output", which W_U reads). Heads 1 are zero (uniform attention,
// no output). No norms, no biases.
constexpr int kV = 16, kT = 16, kD = 4 * kV;
constexpr int kTok = 0, kPos = kV, kPrev = 2 * kV, kOut = 3 * kV;

inline glassbox::Trainable induction_by_hand(float sharpness = 40.f) {
  using namespace glassbox;
  Trainable tr = Trainable::init({{"model_type", "hooked_transformer"}, {"n_layers", 2}, {"d_model", kD},
                                  {"n_heads", 2}, {"d_head", kV}, {"d_vocab", kV}, {"n_ctx", kT},
                                  {"attn_only", true}, {"normalization_type", nullptr},
                                  {"positional_embedding_type", "standard"}},
                                 1, /*biases=*/false);
  auto set = [&](const std::string& name, auto fill) {
    for (Param& p : tr.params())
      if (p.name == name) {
        std::fill(p.value.f32(), p.value.f32() + p.value.numel(), 0.f);
        fill(p.value.f32());
        return;
      }
    throw std::runtime_error("no parameter " + name);
  };
  // W_Q / W_K / W_V: [n_heads, d_model, d_head]; W_O: [n_heads, d_head, d_model]; head 0 first.
  set("embed.W_E", [](float* w) { for (int t = 0; t < kV; ++t) w[t * kD + kTok + t] = 1; });
  set("pos_embed.W_pos", [](float* w) { for (int p = 0; p < kT; ++p) w[p * kD + kPos + p] = 1; });
  set("unembed.W_U", [](float* w) { for (int t = 0; t < kV; ++t) w[(kOut + t) * kV + t] = 1; });
  set("blocks.0.attn.W_Q", [&](float* w) { for (int p = 0; p < kT; ++p) w[(kPos + p) * kV + p] = sharpness; });
  set("blocks.0.attn.W_K", [](float* w) { for (int k = 0; k + 1 < kT; ++k) w[(kPos + k) * kV + k + 1] = 1; });
  set("blocks.0.attn.W_V", [](float* w) { for (int t = 0; t < kV; ++t) w[(kTok + t) * kV + t] = 1; });
  set("blocks.0.attn.W_O", [](float* w) { for (int t = 0; t < kV; ++t) w[t * kD + kPrev + t] = 1; });
  set("blocks.1.attn.W_Q", [&](float* w) { for (int t = 0; t < kV; ++t) w[(kTok + t) * kV + t] = sharpness; });
  set("blocks.1.attn.W_K", [](float* w) { for (int t = 0; t < kV; ++t) w[(kPrev + t) * kV + t] = 1; });
  set("blocks.1.attn.W_V", [](float* w) { for (int t = 0; t < kV; ++t) w[(kTok + t) * kV + t] = 1; });
  set("blocks.1.attn.W_O", [](float* w) { for (int t = 0; t < kV; ++t) w[t * kD + kOut + t] = 1; });
  return tr;
}

// Arithmetic sequences x, x+s, x+2s ... mod 16 with s in 1..3: the model must
// infer the step from the context.
inline glassbox::TrainBatch arithmetic_batch(std::mt19937_64& rng) {
  using namespace glassbox;
  std::vector<std::vector<int32_t>> rows;
  for (int b = 0; b < 8; ++b) {
    std::vector<int32_t> r;
    const int32_t x = int32_t(rng() % 16), step = 1 + int32_t(rng() % 3);
    for (int t = 0; t < 12; ++t) r.push_back((x + step * t) % 16);
    rows.push_back(r);
  }
  TrainBatch tb{Batch::from_rows(rows), {}};
  tb.targets = next_token_targets(tb.batch);
  return tb;
}

// A 2-layer GPT-2 (4 heads, d_model 32) trained for 150 steps on arithmetic_batch.
inline glassbox::Trainable trained_arithmetic_gpt2(glassbox::TrainResult* result = nullptr) {
  using namespace glassbox;
  Trainable tr = Trainable::init({{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4},
                                  {"n_positions", 32}, {"vocab_size", 16}},
                                 1);
  TrainConfig c;
  c.steps = 150;
  c.optimizer.lr = 3e-3f;
  c.progress = false;
  c.eval_every = 0;
  TrainResult r = train(tr, c, arithmetic_batch);
  if (result) *result = std::move(r);
  return tr;
}

// Prompts for induction_by_hand whose circuit is known (tests/analysis/circuit_test.cpp):
// row 0 corrupts the token before the one to copy (what the induction head's
// keys read through the previous-token head), row 1 the token to copy.
inline glassbox::Batch induction_clean() {
  return glassbox::Batch::from_rows({{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 9, 8, 7, 6}});
}
inline glassbox::Batch induction_corrupt() {
  return glassbox::Batch::from_rows({{1, 2, 3, 13, 5, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 12, 4, 3, 2, 9, 8, 7, 6}});
}

// The hand-built induction model (soft attention, so gradients do not vanish)
// on those prompts, and circuit options measuring the copied token's logit difference.
struct Induction {
  glassbox::Trainable tr = induction_by_hand(4.f);
  glassbox::Batch clean = induction_clean();
  glassbox::Batch corrupt = induction_corrupt();
  glassbox::analysis::CircuitOptions opt(glassbox::analysis::CircuitMethod m) const {
    using namespace glassbox::analysis;
    CircuitOptions o;
    o.method = m;
    o.metric.answer = {5, 5};
    o.metric.wrong = {13, 12};
    if (m == CircuitMethod::ACDC) o.criterion = CircuitCriterion::Metric;
    return o;
  }
};

// The EAP circuit of those prompts, its 4 strongest edges: input->a0.h0<v>,
// input->a1.h0<v>, a0.h0->a1.h0<k>, a1.h0->logits on the hand-built model.
inline glassbox::analysis::Circuit induction_circuit(const glassbox::Model& m) {
  using namespace glassbox::analysis;
  glassbox::Engine e(m);
  CircuitOptions o;
  o.method = CircuitMethod::EAP;
  o.keep_top = 4;
  o.metric.answer = {5, 5};
  o.metric.wrong = {13, 12};
  return discover_circuit(e, induction_clean(), induction_corrupt(), o);
}

}  // namespace antest
