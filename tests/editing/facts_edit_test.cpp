// Edits on the shipped facts organism: ROME flips a fact and leaves other
// subjects alone, MEMIT writes several at once, FT-L keeps its bound, and
// the edited model saves as a checkpoint that reloads with the same logits.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "glassbox/error.h"
#include "glassbox/model.h"
#include "glassbox/threads.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::editing;

namespace {

EditConfig quick(Method m) {
  EditConfig c;
  c.method = m;
  c.n_prefixes = 4;
  c.v_steps = 60;  // facts recalls at the final token: writing at the subject takes more steps
  return c;
}

struct FactsFixture : ::testing::Test {
  void SetUp() override {
    if (!editing_test::shipped("facts")) GTEST_SKIP() << "no trained facts organism or no corpora (scripts/zoo-data.sh)";
    ed = std::make_unique<Editor>(editing_test::model_dir("facts"));
    text = organism_text("facts", 3000, 1);
  }
  std::unique_ptr<Editor> ed;
  EditText text;
};

}  // namespace

// `facts` recalls at the final token (its manifest says so), so writing at
// the subject's MLP0 moves the answer far but not always past the old one:
// each edit raises p(new) at least 100-fold, and the first flips the fact.
TEST_F(FactsFixture, RomeFlipsAFactAndSparesNeighbours) {
  const std::vector<EditRequest> reqs = fact_requests("facts", 3, 5);
  const EditConfig cfg = quick(Method::Rome);
  const auto cov = editing_test::covariances(*ed, text, default_layers(ed->config(), Method::Rome));
  for (size_t i = 0; i < reqs.size(); ++i) {
    const EditRequest& r = reqs[i];
    ed->reset();
    const RequestScore before = score_request(*ed, r);
    EXPECT_FALSE(before.efficacy) << r.subject;  // the organism knows the true object
    const auto deltas = ed->apply({r}, cfg, cov);
    ASSERT_EQ(deltas.size(), 1u);
    EXPECT_EQ(deltas[0].rank, 1);
    const RequestScore after = score_request(*ed, r);
    EXPECT_GT(after.p_new, 100 * before.p_new) << r.subject;
    if (i == 0) {
      EXPECT_TRUE(after.efficacy) << r.subject << ": p(new) " << after.p_new << " p(true) " << after.p_true;
    }
    EXPECT_GE(after.neighbourhood, 0.8) << r.subject;
  }
  // reset() restores the loaded weights exactly.
  ed->reset();
  EXPECT_FALSE(score_request(*ed, reqs[0]).efficacy);
}

// MEMIT's residual target at layer 1 moves `facts` less than ROME's MLP0
// value (the organism reads its subjects at layer 0): a small lambda, and at
// least half the batch's new objects become 10x likelier, the neighbours kept.
TEST_F(FactsFixture, MemitWritesABatch) {
  const std::vector<EditRequest> reqs = fact_requests("facts", 6, 9);
  EditConfig cfg = quick(Method::Memit);
  cfg.layers = {0, 1};
  cfg.mom2_weight = 1;
  cfg.memit_rounds = 1;  // one pass: one change per layer
  const auto cov = editing_test::covariances(*ed, text, cfg.layers);
  std::vector<double> before;
  for (const EditRequest& r : reqs) before.push_back(score_request(*ed, r).p_new);
  const auto deltas = ed->apply(reqs, cfg, cov);
  ASSERT_EQ(deltas.size(), 2u);
  EXPECT_EQ(deltas[0].rank, 6);
  int raised = 0;
  for (size_t i = 0; i < reqs.size(); ++i) {
    const RequestScore s = score_request(*ed, reqs[i]);
    raised += s.p_new > 10 * before[i];
    EXPECT_GE(s.neighbourhood, 0.8) << reqs[i].subject;
  }
  EXPECT_GE(raised, 3);
}

// Written through each prompt's own key (the default), MEMIT's values reach
// the prompts harder than through the key averaged over the prefix contexts
// (MEMIT's reference code), whose mean misses a small model's bare prompt.
TEST_F(FactsFixture, MemitBareKeysReachThePromptsHarderThanMeanKeys) {
  const std::vector<EditRequest> reqs = fact_requests("facts", 6, 9);
  EditConfig cfg = quick(Method::Memit);
  cfg.layers = {0, 1};
  const auto cov = editing_test::covariances(*ed, text, cfg.layers);
  double log_p[2] = {0, 0};
  for (MemitKeys keys : {MemitKeys::Mean, MemitKeys::Bare}) {
    ed->reset();
    cfg.memit_keys = keys;
    ed->apply(reqs, cfg, cov);
    for (const EditRequest& r : reqs) log_p[keys == MemitKeys::Bare] += std::log(score_request(*ed, r).p_new);
  }
  EXPECT_GT(log_p[1], log_p[0] + 1.0) << "mean keys " << log_p[0] << ", bare keys " << log_p[1];
}

TEST_F(FactsFixture, FtLStaysInItsBound) {
  EditConfig cfg = quick(Method::FtL);
  cfg.ft_linf = 1e-3f;
  const std::vector<EditRequest> reqs = fact_requests("facts", 1, 2);
  const auto deltas = ed->apply(reqs, cfg, {});
  ASSERT_EQ(deltas.size(), 1u);
  float mx = 0;
  for (float x : deltas[0].left) mx = std::max(mx, std::abs(x));
  EXPECT_GT(mx, 0.f);
  EXPECT_LE(mx, 1e-3f * 1.0001f);
}

TEST_F(FactsFixture, ClearErrors) {
  EditRequest r = fact_requests("facts", 1, 3)[0];
  EditRequest two = r;
  two.target_new = r.target_new + r.target_true;  // two words: two tokens
  try {
    ed->apply({two}, quick(Method::Rome), {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is 2 tokens"), std::string::npos) << e.what();
  }
  EditRequest missing = r;
  missing.prompt = "lives in";
  EXPECT_THROW(ed->apply({missing}, quick(Method::Rome), {}), Error);
  EditConfig bad = quick(Method::Rome);
  bad.layers = {0, 1};
  EXPECT_THROW(ed->apply({r}, bad, {}), Error);  // ROME edits one layer
  // MEMIT's own settings, each named in its error.
  const auto memit_error = [&](const std::function<void(EditConfig&)>& spoil, const char* name) {
    EditConfig c = quick(Method::Memit);
    spoil(c);
    try {
      ed->apply({r}, c, {});
      ADD_FAILURE() << "no error for " << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  };
  memit_error([](EditConfig& c) { c.memit_rounds = 0; }, "memit_rounds");
  memit_error([](EditConfig& c) { c.memit_preserve = -1; }, "memit_preserve");
  memit_error([](EditConfig& c) { c.memit_retry_below = 2; }, "memit_retry_below");
  bad.layers = {9};
  EXPECT_THROW(ed->apply({r}, bad, {}), Error);
  // The last layer's output at the subject reaches no later layer: an edit there
  // would be zero (MEMIT over layers 0-3 of facts-lm scored efficacy 0.00).
  const int last = ed->config().n_layers - 1;
  for (const auto& [m, layers] : {std::pair{Method::Rome, std::vector<int>{last}},
                                  std::pair{Method::Memit, std::vector<int>{0, last}}}) {
    bad = quick(m);
    bad.layers = layers;
    try {
      ed->apply({r}, bad, {});
      FAIL() << "no error for " << to_string(m) << " at the last layer";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("the model's last"), std::string::npos) << e.what();
    }
  }
  EditConfig ft = quick(Method::FtL);
  ft.layers = {last};
  ft.ft_steps = 1;
  EXPECT_EQ(ed->apply({r}, ft, {}).size(), 1u);  // fine-tuning reads every position: allowed
}

TEST_F(FactsFixture, SavedCheckpointReloadsWithTheSameLogits) {
  const std::vector<EditRequest> reqs = fact_requests("facts", 1, 4);
  const auto cov = editing_test::covariances(*ed, text, default_layers(ed->config(), Method::Rome));
  const auto deltas = ed->apply(reqs, quick(Method::Rome), cov);
  const TokenizedPrompt p = ed->tokenize(reqs[0].prompt, reqs[0].subject);
  const Tensor want = ed->engine().logits(Batch::single(p.tokens));

  const std::string dir = editing_test::scratch("edited");
  ed->save(dir);
  const Model m = Model::load(dir);
  ASSERT_NE(m.tokenizer(), nullptr);
  EXPECT_EQ(m.tokenizer()->encode("Mina"), ed->tokenizer().encode("Mina"));
  Engine e(m);
  const Tensor got = e.logits(Batch::single(p.tokens));
  ASSERT_EQ(got.numel(), want.numel());
  for (int64_t i = 0; i < got.numel(); ++i) ASSERT_EQ(got.f32()[i], want.f32()[i]) << "logit " << i;
  // GGUF: the word-level tokenizer (add_prefix_space) has no GGUF form, and
  // the error says so rather than writing a file llama.cpp would misread.
  try {
    ed->save(editing_test::scratch("edited.gguf"));
    const Model g = Model::load(editing_test::scratch("edited.gguf"));
    Engine eg(g);
    const Tensor gl = eg.logits(Batch::single(p.tokens));
    for (int64_t i = 0; i < gl.numel(); ++i) ASSERT_EQ(gl.f32()[i], want.f32()[i]) << "gguf logit " << i;
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("GGUF"), std::string::npos) << err.what();
  }

  // The compact edit file: applied to a fresh copy it gives the same change.
  const std::string file = editing_test::scratch("edit.safetensors");
  save_deltas(file, deltas, {{"method", "rome"}});
  nlohmann::json about;
  const auto loaded = load_deltas(file, &about);
  EXPECT_EQ(about["method"], "rome");
  ASSERT_EQ(loaded.size(), 1u);
  EXPECT_LT(std::filesystem::file_size(file), 8192u);
  Editor fresh(editing_test::model_dir("facts"));
  fresh.add_delta(loaded[0]);
  const Tensor again = fresh.engine().logits(Batch::single(p.tokens));
  for (int64_t i = 0; i < again.numel(); ++i) ASSERT_NEAR(again.f32()[i], want.f32()[i], 1e-5f);
}

// A retrained facts-lm (zoo train facts-lm --out DIR) may name other people:
// its edits come from the list beside it, not the shipped organism's.
TEST(FactRequests, ReadTheFactListBesideTheModel) {
  const std::filesystem::path shipped = std::filesystem::path(editing_test::model_dir("facts-lm")) / "heldout.json";
  if (!std::filesystem::exists(shipped)) GTEST_SKIP() << "facts-lm is not shipped";
  std::stringstream text;
  text << std::ifstream(shipped).rdbuf();
  std::string list = text.str();
  for (size_t at = list.find("Selia"); at != std::string::npos; at = list.find("Selia", at)) list.replace(at, 5, "Selix");
  const std::filesystem::path dir = editing_test::scratch("retrained-facts-lm");
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "heldout.json") << list;
  const auto names = [](const std::vector<EditRequest>& reqs) {
    std::string all;
    for (const EditRequest& r : reqs) all += r.subject + "|";
    return all;
  };
  const std::string beside = names(fact_requests("facts-lm", 100, 0, 10, dir.string()));
  EXPECT_NE(beside.find("Selix"), std::string::npos) << beside;
  EXPECT_EQ(beside.find("Selia"), std::string::npos) << beside;
  // Without a list beside it (or without a directory): the shipped one.
  const std::string own = names(fact_requests("facts-lm", 100, 0, 10, editing_test::model_dir("tiny-lm")));
  EXPECT_NE(own.find("Selia"), std::string::npos);
  EXPECT_EQ(own, names(fact_requests("facts-lm", 100, 0)));
}

namespace {

// The relative change of the residual after `layer` at every token of each
// request's prompt but the subject's last, between two engines' runs.
double other_token_change(Engine& before, Engine& after, const Editor& ed, const std::vector<EditRequest>& reqs,
                          int layer) {
  double changed = 0, norm = 0;
  for (const EditRequest& r : reqs) {
    const TokenizedPrompt p = ed.tokenize(r.prompt, r.subject);
    ForwardOptions opt;
    opt.keep = {{Site::resid_post, layer}};
    std::vector<float> x[2];
    Engine* engines[2] = {&before, &after};
    for (int k = 0; k < 2; ++k) {
      const ForwardResult r = engines[k]->forward(Batch::single(p.tokens), nullptr, nullptr, opt);
      const Tensor& a = r.get({Site::resid_post, layer});
      x[k].assign(a.f32(), a.f32() + a.numel());
    }
    const int64_t D = ed.config().d_model;
    for (int64_t t = 1; t < int64_t(p.tokens.size()); ++t)  // not BOS, which no key reaches
      if (t != p.subject_last)
        for (int64_t j = 0; j < D; ++j) {
          const double d = x[1][size_t(t * D + j)] - x[0][size_t(t * D + j)];
          changed += d * d;
          norm += double(x[0][size_t(t * D + j)]) * x[0][size_t(t * D + j)];
        }
  }
  return std::sqrt(changed / norm);
}

}  // namespace

// MEMIT's two additions, on facts-lm with 100 edits at once (README,
// "Knowledge editing"): a second pass for the requests still short of p 0.8
// (memit_rounds) flips more facts than one plain pass, but alone it doubles
// what leaks into the prompts' other tokens and costs neighbours; keeping
// those tokens (memit_preserve) moves them less and wins the neighbours back.
TEST(MemitOnFactsLm, ASecondPassFlipsMoreAndPreservingOtherTokensKeepsTheNeighbours) {
  if (!editing_test::shipped("facts-lm")) GTEST_SKIP() << "facts-lm is not shipped or no corpora";
  set_num_threads(2);
  Editor ed(editing_test::model_dir("facts-lm"));
  const Model original = Model::load(editing_test::model_dir("facts-lm"));
  Engine before(original);
  const std::vector<EditRequest> reqs = fact_requests("facts-lm", 100, 0, 10, editing_test::model_dir("facts-lm"));
  EditConfig cfg;
  cfg.method = Method::Memit;
  cfg.n_prefixes = 4;
  const std::vector<int> layers = default_layers(ed.config(), Method::Memit);
  ASSERT_EQ(layers, (std::vector<int>{0, 1, 2}));  // a 4-layer model: every layer but the last
  const auto cov = editing_test::covariances(ed, organism_text("facts-lm", 8000, 1), layers);
  struct Outcome {
    int flipped = 0;
    double neighbourhood = 0, other_tokens = 0;
    size_t deltas = 0;
  };
  const auto run = [&](float preserve, int rounds) {
    ed.reset();
    cfg.memit_preserve = preserve;
    cfg.memit_rounds = rounds;
    Outcome o;
    o.deltas = ed.apply(reqs, cfg, cov).size();
    for (const EditRequest& r : reqs) {
      const RequestScore s = score_request(ed, r);
      o.flipped += s.efficacy;
      o.neighbourhood += s.neighbourhood / double(reqs.size());
    }
    o.other_tokens = other_token_change(before, ed.engine(), ed, reqs, layers.back());
    return o;
  };
  const Outcome plain = run(0, 1), rounds = run(0, 2), both = run(0.3f, 2);
  std::printf("100 edits (flipped, neighbourhood, other tokens' change): plain %d, %.3f, %.3f; 2 rounds %d, %.3f, "
              "%.3f; preserve + 2 rounds %d, %.3f, %.3f\n", plain.flipped, plain.neighbourhood, plain.other_tokens,
              rounds.flipped, rounds.neighbourhood, rounds.other_tokens, both.flipped, both.neighbourhood,
              both.other_tokens);
  EXPECT_EQ(plain.deltas, layers.size());
  EXPECT_GT(rounds.deltas, layers.size()) << "no request was short of p 0.8 after one pass";
  EXPECT_GE(rounds.flipped, plain.flipped + 3);
  EXPECT_GE(both.flipped, plain.flipped + 3);
  EXPECT_GT(rounds.other_tokens, plain.other_tokens);
  EXPECT_LT(both.other_tokens, 0.8 * rounds.other_tokens);
  EXPECT_GE(both.neighbourhood, rounds.neighbourhood + 0.015);
  EXPECT_GE(both.neighbourhood, plain.neighbourhood - 0.03);
}
