// Causal tracing: cells recomputed independently (one unbatched forward per
// noise sample, hooks written here), the identities every trace must satisfy,
// the prompt's subject span and its errors, and the ground truth of the
// facts-lm organism (recall at the subject, read by attention at the last token).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "glassbox/analysis/causal_trace.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "glassbox/threads.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using namespace glassbox;
using namespace glassbox::analysis;

namespace {

const Model& tiny_lm() {
  static const Model m = Model::load((fs::path(zoo::models_dir()) / "tiny-lm").string());
  return m;
}

Engine& eng() {
  static Engine e(tiny_lm());
  return e;
}

#define REQUIRE_SHIPPED(name)                                                           \
  if (!fs::exists(fs::path(zoo::models_dir()) / name / "model.safetensors"))            \
  GTEST_SKIP() << name << " is not shipped (glassbox zoo train " << name << ")"

// p(answer) of one row, with the subject noised by sample s and, if layers is
// not empty, `site` of those layers restored at `pos` from the clean run.
double restored_p(const Model& m, const TracePrompt& p, float std, int s, Site site, std::vector<int> layers,
                  int64_t pos) {
  Engine e(m);
  const int64_t d = m.config().d_model;
  const Batch b = Batch::single(p.tokens);
  ForwardOptions keep;
  for (int l : layers) keep.keep.insert({site, l});
  const ForwardResult clean = e.forward(b, nullptr, nullptr, keep);
  std::vector<std::vector<float>> states;
  for (int l : layers) states.push_back(clean.get({site, l}).to_f32_vector());
  const std::vector<float> z = trace_noise(1, s, p.subject_end - p.subject_begin, d, std);
  HookRegistry reg(m.config());
  std::vector<HookHandle> hs;
  hs.push_back(reg.add(
      "hook_embed",
      [&](TensorView& a, const HookContext&) {
        for (size_t i = 0; i < z.size(); ++i) a.data[p.subject_begin * d + int64_t(i)] += z[i];
      },
      HookMode::Replace));
  for (size_t i = 0; i < layers.size(); ++i)
    hs.push_back(reg.add(
        HookPoint{site, layers[i]},
        [&, i](TensorView& a, const HookContext&) {
          for (int64_t k = 0; k < d; ++k) a.data[pos * d + k] = states[i][size_t(pos * d + k)];
        },
        HookMode::Replace));
  const Tensor logits = e.forward(b, &reg).logits;
  const int64_t T = logits.shape[1], V = logits.shape[2];
  const float* row = logits.f32() + (T - 1) * V;
  double mx = row[0], sum = 0;
  for (int64_t v = 0; v < V; ++v) mx = std::max(mx, double(row[v]));
  for (int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
  return std::exp(double(row[p.answer]) - mx) / sum;
}

TEST(CausalTrace, CellsMatchAnIndependentRecomputation) {
  set_num_threads(2);
  const Model& m = tiny_lm();
  const TracePrompt p = trace_prompt(m, "Mina Selia lives in the city of", "Mina Selia");
  TraceOptions o;
  o.samples = 3;
  o.window = 3;
  o.max_bytes = 1 << 20;  // several batches of cells
  const CausalTrace t = causal_trace(eng(), {p}, o);
  const float std = t.noise_std;
  const TracePrompt& q = t.prompts[0].prompt;  // the answer resolved (the clean run's top token)
  double corrupt = 0;
  for (int s = 0; s < 3; ++s) corrupt += restored_p(m, q, std, s, Site::embed, {}, 0) / 3;
  EXPECT_NEAR(t.prompts[0].p_corrupt, corrupt, 1e-5);
  const auto cell = [&](Site site, std::vector<int> layers, int64_t pos) {
    double r = 0;
    for (int s = 0; s < 3; ++s) r += restored_p(m, q, std, s, site, layers, pos) / 3;
    return r - corrupt;
  };
  const int64_t last_subj = p.subject_end - 1, T = int64_t(p.tokens.size());
  EXPECT_NEAR(t.prompts[0].grids[0].at(2, last_subj), cell(Site::resid_post, {2}, last_subj), 1e-5);
  // Window 3 around layer 1: layers 0, 1, 2.
  EXPECT_NEAR(t.prompts[0].grids[1].at(1, last_subj), cell(Site::mlp_out, {0, 1, 2}, last_subj), 1e-5);
  // Around layer 3 (the last): layers 2, 3.
  EXPECT_NEAR(t.prompts[0].grids[2].at(3, T - 1), cell(Site::attn_out, {2, 3}, T - 1), 1e-5);
}

TEST(CausalTrace, IdentitiesOfEveryTrace) {
  const Model& m = tiny_lm();
  const TracePrompt p = trace_prompt(m, "Yesterday Mina Selia went to", "Mina Selia");
  TraceOptions o;
  o.samples = 2;
  const CausalTrace t = causal_trace(eng(), {p}, o);
  const PromptTrace& pt = t.prompts[0];
  ASSERT_GE(pt.prompt.answer, 0);  // the clean run's top token
  const int64_t T = int64_t(p.tokens.size()), L = m.config().n_layers;
  EXPECT_NE(pt.p_clean, pt.p_corrupt) << "the noise must change the prediction";
  for (const TraceGrid& g : pt.grids)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t i = 0; i < p.subject_begin; ++i) EXPECT_EQ(g.at(l, i), 0.0) << "before the subject";
  // The last layer's residual at the last token is everything the logits read.
  EXPECT_NEAR(pt.grids[0].at(L - 1, T - 1), pt.p_clean - pt.p_corrupt, 1e-6);
  // Role averages of one prompt are its own cells.
  const RoleAverage& a = role_average(t, TraceSite::Mlp);
  for (int64_t l = 0; l < L; ++l) {
    EXPECT_DOUBLE_EQ(a.at(TokenRole::LastSubject, l), pt.grids[1].at(l, p.subject_end - 1));
    EXPECT_DOUBLE_EQ(a.at(TokenRole::LastToken, l), pt.grids[1].at(l, T - 1));
  }
  EXPECT_EQ(a.prompts[size_t(TokenRole::MiddleSubject)], p.subject_end - p.subject_begin > 2 ? 1 : 0);
}

TEST(CausalTrace, NoiseIsSeededGaussian) {
  const std::vector<float> a = trace_noise(1, 0, 100, 100, 2.0f), b = trace_noise(1, 0, 100, 100, 2.0f),
                           c = trace_noise(1, 1, 100, 100, 2.0f);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double s = 0, sq = 0;
  for (float x : a) s += x, sq += double(x) * x;
  const double mean = s / double(a.size()), sd = std::sqrt(sq / double(a.size()) - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.06);
  EXPECT_NEAR(sd, 2.0, 0.06);
}

TEST(CausalTrace, Windows) {
  EXPECT_EQ(trace_window(0, 1, 4), (std::pair<int64_t, int64_t>{0, 1}));
  EXPECT_EQ(trace_window(2, 3, 4), (std::pair<int64_t, int64_t>{1, 4}));
  EXPECT_EQ(trace_window(0, 4, 4), (std::pair<int64_t, int64_t>{0, 2}));
  EXPECT_EQ(trace_window(3, 4, 4), (std::pair<int64_t, int64_t>{1, 4}));
}

TEST(CausalTrace, PromptFindsTheSubjectAndNamesErrors) {
  const Model& m = tiny_lm();
  const TracePrompt p = trace_prompt(m, "Mina Selia lives in", "Selia");
  const Tokenizer& tok = *m.tokenizer();
  std::string subj;
  for (int64_t i = p.subject_begin; i < p.subject_end; ++i) subj += tok.token_to_bytes(p.tokens[size_t(i)]);
  EXPECT_NE(subj.find("Selia"), std::string::npos) << subj;
  EXPECT_EQ(p.tokens[0], tok.bos_id()) << "BOS first, as the organisms read text";
  const auto message = [&](auto f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] { trace_prompt(m, "Mina Selia lives in", "Bob Smith"); }).find("not in the prompt"),
            std::string::npos);
  EXPECT_NE(message([&] { trace_prompt(m, "He met Mina Selia", "Mina Selia"); }).find("ends with its subject"),
            std::string::npos);
  EXPECT_NE(message([&] { trace_prompt(m, "Mina Selia lives in", "Mina", " Jerusalem"); }).find("not one"),
            std::string::npos);
  TraceOptions o;
  o.window = 9;
  EXPECT_NE(message([&] { causal_trace(eng(), {p}, o); }).find("window 9"), std::string::npos);
  EXPECT_NE(message([&] { causal_trace(eng(), {}, {}); }).find("no prompts"), std::string::npos);
}

// The manifest's ground truth on the shipped facts-lm: for home cities and
// fruits, recall at the subject's last token (MLP0 writes it into the
// residual there) and layer-3 attention at the last token reads it, in both
// halves; in the records-only half no last-token lookup. Eight canonical
// prompts per case: four people, lives_in and eats.
CausalTrace trace_facts_lm(const Model& m, const nlohmann::json& list, bool phrased) {
  std::vector<TracePrompt> prompts;
  for (const auto& f : list["facts"]) {
    const std::string rel = f["relation"];
    if (f["phrased"].get<bool>() != phrased || (rel != "lives_in" && rel != "eats") || prompts.size() == 8) continue;
    prompts.push_back(trace_prompt(m, f["prompts"][0].get<std::string>(), f["subject"].get<std::string>(),
                                   f["answer"].get<std::string>()));
  }
  EXPECT_EQ(prompts.size(), 8u);
  TraceOptions o;
  o.samples = 3;
  Engine e(m);
  return causal_trace(e, prompts, o);
}

TEST(CausalTrace, FactsLmGroundTruth) {
  REQUIRE_SHIPPED("facts-lm");
  set_num_threads(2);
  const fs::path dir = fs::path(zoo::models_dir()) / "facts-lm";
  const Model m = Model::load(dir.string());
  std::ifstream in(dir / "heldout.json");
  const nlohmann::json list = nlohmann::json::parse(in);
  const int64_t L = m.config().n_layers;
  for (const bool phrased : {false, true}) {
    SCOPED_TRACE(phrased ? "phrased half" : "records-only half");
    const CausalTrace t = trace_facts_lm(m, list, phrased);
    EXPECT_GT(t.mean_p_clean, 0.5);
    EXPECT_LT(t.mean_p_corrupt, 0.15);
    const RoleAverage &resid = role_average(t, TraceSite::Resid), &mlp = role_average(t, TraceSite::Mlp),
                      &attn = role_average(t, TraceSite::Attn);
    EXPECT_GT(mlp.at(TokenRole::LastSubject, 0), 0.05);
    for (int64_t l = 0; l + 1 < L; ++l) EXPECT_GT(resid.at(TokenRole::LastSubject, l), 0.06) << "L" << l;
    // Nothing later at the subject adds to it: MLPs 1-3 there restore ~0.
    for (int64_t l = 1; l < L; ++l) EXPECT_LT(mlp.at(TokenRole::LastSubject, l), 0.03) << "L" << l;
    EXPECT_GT(attn.at(TokenRole::LastToken, L - 1), 0.15);
    if (!phrased) {
      for (int64_t l = 0; l + 1 < L; ++l) EXPECT_LT(mlp.at(TokenRole::LastToken, l), 0.1) << "L" << l;
    }
  }
}

}  // namespace
