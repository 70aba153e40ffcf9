// The explorer's endpoints (server/explorer.h) without a browser: what each
// answers, checked against the library computed independently, the errors
// it gives, and the page and routes behind a running server. The page in a
// real browser: tests/server/explorer_page.mjs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "../common/expect_error.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/server/api.h"
#include "glassbox/steering/profile.h"
#include "glassbox/tokenizer.h"
#include "server/explorer.h"
#include "server_fixture.h"

namespace {

using glassbox::Model;
using glassbox::server::ServerContext;
using nlohmann::json;

const Model& organism(const std::string& name) {
  static std::map<std::string, Model> loaded;
  auto it = loaded.find(name);
  if (it == loaded.end())
    it = loaded.emplace(name, Model::load(std::string(GLASSBOX_SOURCE_DIR) + "/models/" + name)).first;
  return it->second;
}

ServerContext context_for(const std::string& name) {
  ServerContext c;
  c.model = &organism(name);
  c.model_id = name;
  return c;
}

const char* kIoi = "When Mary and John went to the store, John gave a drink to";

// The values of a report heatmap spec, by (row, col).
std::map<std::pair<int, int>, double> cells(const json& spec) {
  std::map<std::pair<int, int>, double> out;
  for (const json& d : spec.at("data").at("values"))
    out[{d.at("row").get<int>(), d.at("col").get<int>()}] = d.at("value").is_null() ? NAN : d.at("value").get<double>();
  return out;
}

TEST(Explorer, AnalyzeGivesThePredictionTheLensAndDlaThatSumsToTheLogit) {
  const ServerContext ctx = context_for("ioi");
  const Model& m = *ctx.model;
  const json r = glassbox::server::explorer_analyze_json(ctx, {{"prompt", kIoi}});
  const std::vector<int32_t> ids = m.tokenizer()->encode(kIoi);
  ASSERT_EQ(r.at("tokens").size(), ids.size());
  EXPECT_EQ(r.at("answer"), " Mary");  // the organism answers the indirect object
  // The lens: one row per residual stream (every layer's input and the last output), one column per position.
  EXPECT_EQ(cells(r.at("lens_spec")).size(), size_t(m.config().n_layers + 1) * ids.size());
  // DLA: embeddings, attn and MLP per layer and the bias, summing to the logit.
  const json& bars = r.at("dla_spec").at("data").at("values");
  ASSERT_EQ(bars.size(), size_t(2 * m.config().n_layers + 3));
  double sum = 0;
  for (const json& b : bars) sum += b.at("value").get<double>();
  EXPECT_NEAR(sum, r.at("logit").get<double>(), 1e-3);
  // ... and the logit is the model's own for " Mary" at the last position.
  glassbox::Engine e(m);
  const glassbox::Tensor logits = e.logits(glassbox::Batch::single(ids));
  const int64_t V = logits.shape.back();
  const int32_t mary = m.tokenizer()->encode(" Mary", false).at(0);
  EXPECT_NEAR(r.at("logit").get<double>(), logits.f32()[(int64_t(ids.size()) - 1) * V + mary], 1e-3);
  EXPECT_EQ(cells(r.at("dla_heads_spec")).size(), size_t(m.config().n_layers * m.config().n_heads));
  // The example prompts are the organism's probes from the zoo manifest.
  EXPECT_EQ(glassbox::server::explorer_info_json(ctx).at("examples").at(0), kIoi);

  // A given answer and wrong token: the logit difference, which the DLA endpoint gives alike.
  const json diff = glassbox::server::explorer_analyze_json(ctx, {{"prompt", kIoi}, {"answer", " Mary"}, {"wrong", " John"}});
  const json dla = glassbox::server::explorer_dla_json(ctx, {{"prompt", kIoi}, {"answer", " Mary"}, {"wrong", " John"}});
  const int32_t john = m.tokenizer()->encode(" John", false).at(0);
  const float* last = logits.f32() + (int64_t(ids.size()) - 1) * V;
  EXPECT_NEAR(diff.at("logit").get<double>(), last[mary] - last[john], 1e-3);
  EXPECT_NEAR(dla.at("logit").get<double>(), last[mary] - last[john], 1e-3);
  EXPECT_GT(dla.at("logit").get<double>(), 0);  // the organism prefers the indirect object
}

TEST(Explorer, AttentionIsTheCachedPatternOfTheChosenHead) {
  const ServerContext ctx = context_for("ioi");
  const Model& m = *ctx.model;
  const int layer = 2, head = 1;
  const json r = glassbox::server::explorer_attention_json(ctx, {{"prompt", kIoi}, {"layer", layer}, {"head", head}});
  EXPECT_EQ(r.at("hook"), "blocks.2.attn.hook_pattern");
  const std::vector<int32_t> ids = m.tokenizer()->encode(kIoi);
  glassbox::Engine e(m);
  glassbox::CacheOptions o;
  o.names = {"blocks.2.attn.hook_pattern"};
  const glassbox::ActivationCache cache = glassbox::run_with_cache(e, glassbox::Batch::single(ids), o);
  const glassbox::Tensor& p = cache["blocks.2.attn.hook_pattern"];
  const int64_t T = int64_t(ids.size());
  const auto c = cells(r.at("spec"));
  ASSERT_EQ(c.size(), size_t(T * T));
  for (int64_t q = 0; q < T; ++q)
    for (int64_t k = 0; k < T; ++k)
      EXPECT_FLOAT_EQ(float(c.at({int(q), int(k)})), p.f32()[(int64_t(head) * T + q) * T + k]) << q << "," << k;
}

TEST(Explorer, SteeringProfileAddsTheShippedDirectionScaledAndWatchesIt) {
  const ServerContext ctx = context_for("toxic");
  const Model& m = *ctx.model;
  const auto dirs = glassbox::server::shipped_directions(m);
  ASSERT_EQ(dirs.size(), 1u);
  EXPECT_EQ(dirs[0].name, "toxic-word-clamp");
  EXPECT_TRUE(glassbox::server::shipped_directions(organism("ioi")).empty());  // none shipped
  const json info = glassbox::server::explorer_info_json(ctx);
  EXPECT_EQ(info.at("directions").at(0).at("name"), "toxic-word-clamp");
  EXPECT_EQ(info.at("n_layers"), m.config().n_layers);

  const json p = glassbox::server::explorer_steering_json(
      ctx, {{"direction", "toxic-word-clamp"}, {"layer", 3}, {"coefficient", 2.5}});
  ASSERT_EQ(p.at("interventions").size(), 1u);
  const json& x = p.at("interventions")[0];
  EXPECT_EQ(x.at("type"), "add_vector");
  EXPECT_EQ(x.at("hook"), "blocks.3.hook_resid_post");
  EXPECT_DOUBLE_EQ(x.at("alpha").get<double>(), 2.5);
  EXPECT_EQ(x.at("vector").get<std::vector<float>>(), dirs[0].find(3)->vector);
  EXPECT_EQ(p.at("monitors").at(0).at("type"), "projection");
  // What the server's generation runs: the profile parses and fits.
  glassbox::steering::Profile::from_json(p).check_fits(m.config());
}

TEST(Explorer, ContrastDirectionIsTheResidualDifferenceAtTheLastToken) {
  const ServerContext ctx = context_for("tiny-lm");
  const Model& m = *ctx.model;
  const json p = glassbox::server::explorer_steering_json(
      ctx, {{"contrast", {{"positive", " love"}, {"negative", " hate"}}}, {"layer", 1}, {"coefficient", 1}});
  const std::vector<float> got = p.at("interventions")[0].at("vector").get<std::vector<float>>();
  // Independently: the two texts' resid_post at layer 1, last position.
  glassbox::Engine e(m);
  auto resid = [&](const std::string& text) {
    glassbox::CacheOptions o;
    o.names = {"blocks.1.hook_resid_post"};
    const std::vector<int32_t> ids = m.tokenizer()->encode(text);
    const glassbox::ActivationCache c = glassbox::run_with_cache(e, glassbox::Batch::single(ids), o);
    const int64_t d = m.config().d_model;
    const float* row = c["blocks.1.hook_resid_post"].f32() + (int64_t(ids.size()) - 1) * d;
    return std::vector<float>(row, row + d);
  };
  const std::vector<float> a = resid(" love"), b = resid(" hate");
  ASSERT_EQ(got.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(got[i], a[i] - b[i], 1e-4) << i;
}

TEST(Explorer, BadRequestsNameTheField) {
  const ServerContext ctx = context_for("ioi");
  using glassbox::server::explorer_attention_json;
  using glassbox::server::explorer_steering_json;
  gbtest::expect_error([&] { explorer_attention_json(ctx, {{"prompt", kIoi}, {"layer", 4}, {"head", 0}}); }, {"layer: "});
  gbtest::expect_error([&] { explorer_attention_json(ctx, {{"prompt", kIoi}, {"layer", 0}}); }, {"head: missing"});
  gbtest::expect_error([&] { explorer_attention_json(ctx, {{"prompt", kIoi}, {"layer", 0}, {"head", 0}, {"x", 1}}); }, {"x: "});
  gbtest::expect_error([&] { explorer_attention_json(ctx, {{"layer", 0}, {"head", 0}}); }, {"prompt: missing"});
  gbtest::expect_error([&] { glassbox::server::explorer_dla_json(ctx, {{"prompt", kIoi}, {"answer", " Mary and"}}); }, {"answer: "});
  gbtest::expect_error([&] { explorer_steering_json(ctx, {{"direction", "nope"}, {"layer", 0}, {"coefficient", 1}}); }, {"direction: 'nope' is not one of the model's directions (it has none)"});
  gbtest::expect_error([&] { explorer_steering_json(ctx, {{"layer", 0}, {"coefficient", 1}}); }, {"direction: give either"});
  gbtest::expect_error([&] { explorer_steering_json(ctx, {{"direction", "x"}, {"layer", 0}, {"coefficient", "big"}}); }, {"coefficient: "});
  ServerContext limited = ctx;
  limited.limits.max_prompt_tokens = 4;
  gbtest::expect_error([&] { glassbox::server::explorer_analyze_json(limited, {{"prompt", kIoi}}); }, {"prompt: "});
}

TEST(Explorer, ServesThePageAndAnswersErrorsAsTheApiDoes) {
  server_test::RunningServer s(context_for("ioi"));
  httplib::Client c("127.0.0.1", s.port());
  const auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->get_header_value("Content-Type").find("text/html"), std::string::npos);
  // Self-contained: vega inlined, the script embedded, no marker left, nothing fetched from elsewhere.
  EXPECT_NE(page->body.find("vegaEmbed"), std::string::npos);
  EXPECT_NE(page->body.find("/v1/glassbox/explorer/analyze"), std::string::npos);
  EXPECT_EQ(page->body.find("glassbox:head"), std::string::npos);
  EXPECT_EQ(page->body.find("<script src"), std::string::npos);

  const auto info = c.Get("/v1/glassbox/explorer/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(json::parse(info->body).at("model"), "ioi");
  const auto bad = c.Post("/v1/glassbox/explorer/attention", R"({"prompt": "x", "layer": 99, "head": 0})",
                          "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  const json err = json::parse(bad->body).at("error");
  EXPECT_EQ(err.at("param"), "layer");
  EXPECT_EQ(err.at("type"), "invalid_request_error");
  const auto broken = c.Post("/v1/glassbox/explorer/analyze", "{\"prompt\": ", "application/json");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->status, 400);
  // As every other endpoint answers a body that does not parse: the message
  // names the body; param stays null (no field of it could be read).
  const json broken_err = json::parse(broken->body).at("error");
  EXPECT_EQ(broken_err.at("message").get<std::string>().rfind("body: ", 0), 0u) << broken_err;
  EXPECT_TRUE(broken_err.at("param").is_null()) << broken_err;
  // ... and the server keeps serving.
  const auto ok = c.Post("/v1/glassbox/explorer/analyze", json{{"prompt", kIoi}}.dump(), "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

}  // namespace
