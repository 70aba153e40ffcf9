// SteeringVector as data: JSON both ways, the checks against a model, and
// the add_vector interventions it becomes.
#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/steering/control_vector.h"
#include "glassbox/steering/direction.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::steering;

TEST(SteeringDirection, JsonRoundTrips) {
  SteeringVector v = steering_test::random_direction(6, {0, 2});
  v.method = Method::PcaDiff;
  v.layers[0].separation = 0.75;
  v.provenance = {{"model", "models/tiny-lm"}, {"pairs", 12}};
  const std::string path = steering_test::scratch("dir.json");
  save_steering_json(v, path);
  const SteeringVector w = load_steering_json(path);
  EXPECT_EQ(w.name, v.name);
  EXPECT_EQ(w.method, Method::PcaDiff);
  EXPECT_EQ(w.site, Site::resid_post);
  EXPECT_EQ(w.d_model, 6);
  ASSERT_EQ(w.layer_ids(), (std::vector<int>{0, 2}));
  EXPECT_EQ(w.find(2)->vector, v.find(2)->vector);
  EXPECT_DOUBLE_EQ(w.layers[0].separation, 0.75);
  EXPECT_TRUE(std::isnan(w.layers[1].separation));
  EXPECT_EQ(w.provenance["pairs"], 12);
}

// A sweep's page and JSON say which direction ran: an unnamed one (`steer
// build` without --name) is called by its file; a named one keeps its name.
TEST(SteeringDirection, AnUnnamedDirectionFileIsNamedByItsPath) {
  SteeringVector v = steering_test::random_direction(4, {1});
  v.name = "";
  const std::string path = steering_test::scratch("unnamed.json");
  save_steering_json(v, path);
  EXPECT_EQ(load_direction_file(path).name, path);
  v.name = "style";
  save_steering_json(v, path);
  EXPECT_EQ(load_direction_file(path).name, "style");
}

TEST(SteeringDirection, MalformedJsonNamesTheFileAndField) {
  nlohmann::json j = steering_test::random_direction(4, {1}).to_json();
  j["layers"][0]["vector"] = {1, 2, 3};
  try {
    SteeringVector::from_json(j, "d.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("d.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("vector has 3"), std::string::npos) << e.what();
  }
  j = steering_test::random_direction(4, {1}).to_json();
  j["site"] = "attn_out";
  EXPECT_THROW(SteeringVector::from_json(j, "d.json"), Error);
  j.erase("site");
  j["format"] = "other";
  EXPECT_THROW(SteeringVector::from_json(j, "d.json"), Error);
}

TEST(SteeringDirection, ChecksWidthAndLayersAgainstTheModel) {
  Config c;
  c.d_model = 4;
  c.n_layers = 2;
  EXPECT_NO_THROW(steering_test::random_direction(4, {0, 1}).check_fits(c, "x"));
  try {
    steering_test::random_direction(5, {0}).check_fits(c, "x.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("x.json: d_model is 5"), std::string::npos) << e.what();
  }
  try {
    steering_test::random_direction(4, {2}).check_fits(c, "x.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 2 is out of range"), std::string::npos) << e.what();
  }
}

TEST(SteeringDirection, BecomesAddVectorInterventions) {
  const SteeringVector v = steering_test::random_direction(4, {1, 3});
  const auto xs = steering_interventions(v, {2.5f, {3}, {-1}});
  ASSERT_EQ(xs.size(), 1u);
  EXPECT_EQ(xs[0].kind, InterventionKind::AddVector);
  EXPECT_EQ(xs[0].hook, "blocks.3.hook_resid_post");
  EXPECT_EQ(xs[0].alpha, 2.5f);
  EXPECT_EQ(xs[0].vector, v.find(3)->vector);
  EXPECT_EQ(xs[0].positions, std::vector<int64_t>{-1});
  EXPECT_EQ(steering_interventions(v).size(), 2u);
  EXPECT_THROW(steering_interventions(v, {1.f, {2}, {}}), Error);
  // What a JSON intervention file holds: the same thing `generate --intervene` reads.
  const auto back = interventions_from_json(interventions_to_json(xs));
  EXPECT_EQ(back[0].vector, xs[0].vector);
}

#include "glassbox/features/saelens.h"
#include "glassbox/model.h"
#include "glassbox/steering/sae_direction.h"

TEST(SteeringDirection, AnSaeLatentIsItsDecoderRow) {
  REQUIRE_MODEL("tiny-lm");
  const std::string dir = steering_test::model_dir("tiny-lm") + "/saes";
  std::string sae_dir;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (std::filesystem::exists(e.path() / "cfg.json")) sae_dir = e.path().string();
  if (sae_dir.empty()) GTEST_SKIP() << "no shipped tiny-lm SAE";
  const features::Sae sae = features::load_saelens(sae_dir);
  const Model m = Model::load(steering_test::model_dir("tiny-lm"));
  const SteeringVector v = sae_latent_direction(sae, 3, m.config(), sae_dir);
  EXPECT_EQ(v.method, Method::SaeLatent);
  EXPECT_EQ(v.hook(v.layers[0].layer), sae.cfg.hook_name);
  const int64_t d = sae.cfg.d_in;
  for (int64_t j = 0; j < d; ++j) ASSERT_EQ(v.layers[0].vector[size_t(j)], sae.W_dec[size_t(3 * d + j)]);
  EXPECT_THROW(sae_latent_direction(sae, sae.cfg.d_sae, m.config(), sae_dir), Error);
}
