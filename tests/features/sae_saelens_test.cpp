// SAELens' directory layout: SAEs written by an independent script
// (tests/reference/make_sae_fixtures.py, SAELens' forward in torch float64)
// load unchanged and reproduce its outputs; ours round-trip.
#include "glassbox/features/saelens.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include <fstream>

#include "features/sae_test_util.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/safetensors.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

std::vector<float> read_tensor(const SafetensorsFile& f, const char* name) {
  const RawTensor* t = f.find(name);
  if (!t) throw Error(std::string("fixture tensor missing: ") + name);
  const float* p = static_cast<const float*>(t->data);
  return {p, p + t->numel()};
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("glassbox-sae-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TEST(SaeLensGolden, FixturesWrittenByTheReferenceEncodeAndDecodeAsSaeLensDoes) {
  for (const char* name : {"sae-topk", "sae-jumprelu", "sae-relu-old-fields"}) {
    SCOPED_TRACE(name);
    const fs::path dir = fs::path(GLASSBOX_FIXTURES) / name;
    const Sae s = load_saelens(dir.string());
    const SafetensorsFile e = SafetensorsFile::open((dir / "expected.safetensors").string());
    const auto x = read_tensor(e, "x"), acts = read_tensor(e, "feature_acts"), out = read_tensor(e, "sae_out");
    const int64_t rows = int64_t(x.size()) / s.cfg.d_in;
    std::vector<float> f(static_cast<size_t>(rows * s.cfg.d_sae)), xh(x.size()), xr(x.size());
    s.encode(x.data(), rows, f.data());
    s.decode(f.data(), rows, xh.data());
    s.reconstruct(x.data(), rows, xr.data());
    for (size_t i = 0; i < f.size(); ++i) ASSERT_NEAR(f[i], acts[i], 1e-5) << i;
    for (size_t i = 0; i < xh.size(); ++i) ASSERT_NEAR(xh[i], out[i], 1e-4) << i;
    for (size_t i = 0; i < xr.size(); ++i) ASSERT_NEAR(xr[i], out[i], 1e-4) << i;
  }
  const Sae t = load_saelens((fs::path(GLASSBOX_FIXTURES) / "sae-topk").string());
  EXPECT_EQ(t.cfg.arch, SaeArch::TopK);
  EXPECT_EQ(t.cfg.k, 4);
  EXPECT_EQ(t.cfg.hook_name, "blocks.1.hook_resid_post");
  const Sae o = load_saelens((fs::path(GLASSBOX_FIXTURES) / "sae-relu-old-fields").string());
  EXPECT_EQ(o.cfg.hook_name, "blocks.1.hook_resid_post");  // from hook_point
  EXPECT_FALSE(o.cfg.apply_b_dec_to_input);
}

TEST(SaeLens, SaveWritesEverySaeLensFieldAndRoundTrips) {
  for (SaeArch a : {SaeArch::Relu, SaeArch::TopK, SaeArch::BatchTopK, SaeArch::JumpRelu}) {
    SaeConfig c;
    c.arch = a;
    c.d_in = 6, c.d_sae = 10, c.k = 3;
    c.hook_name = "blocks.2.hook_resid_post";
    c.hook_layer = 2;
    c.model_name = "tiny-lm";
    c.extra = {{"neuronpedia_id", "x/y"}, {"some_future_field", 7}};
    const Sae s = testing::random_sae(c, 5);
    const fs::path d = scratch(to_string(a));
    save_saelens(s, d.string());
    const nlohmann::json j = read_json_file((d / kSaeCfgFile).string());
    for (const char* f : {"architecture", "d_in", "d_sae", "dtype", "device", "model_name", "hook_name", "hook_layer",
                          "hook_head_index", "activation_fn_str", "activation_fn_kwargs", "apply_b_dec_to_input",
                          "finetuning_scaling_factor", "sae_lens_training_version", "prepend_bos", "dataset_path",
                          "dataset_trust_remote_code", "context_size", "normalize_activations", "neuronpedia_id",
                          "model_from_pretrained_kwargs"})
      EXPECT_TRUE(j.contains(f)) << f;
    EXPECT_EQ(j["some_future_field"], 7);
    EXPECT_EQ(j["neuronpedia_id"], "x/y");
    EXPECT_EQ(j["architecture"], a == SaeArch::JumpRelu || a == SaeArch::BatchTopK ? "jumprelu" : "standard");
    if (a == SaeArch::TopK) {
      EXPECT_EQ(j["activation_fn_kwargs"]["k"], 3);
    }
    const Sae r = load_saelens(d.string());
    EXPECT_EQ(r.cfg.arch, a);
    EXPECT_EQ(r.cfg.k, a == SaeArch::Relu || a == SaeArch::JumpRelu ? 32 : 3);
    EXPECT_EQ(r.W_enc, s.W_enc);
    EXPECT_EQ(r.W_dec, s.W_dec);
    EXPECT_EQ(r.b_enc, s.b_enc);
    EXPECT_EQ(r.b_dec, s.b_dec);
    EXPECT_EQ(r.threshold, s.threshold);
    EXPECT_EQ(r.cfg.extra["some_future_field"], 7);
    fs::remove_all(d);
  }
}

TEST(SaeLens, TranscoderAndCrosscoderRoundTrip) {
  SaeConfig c;
  c.arch = SaeArch::TopK;
  c.d_in = 4, c.d_out = 5, c.d_sae = 8, c.k = 2;
  c.hook_name = "blocks.0.ln2.hook_normalized";
  c.hook_name_out = "blocks.0.hook_mlp_out";
  const fs::path d = scratch("tc");
  save_saelens(testing::random_sae(c, 1), d.string());
  const Sae t = load_saelens(d.string());
  EXPECT_EQ(t.cfg.d_out, 5);
  EXPECT_EQ(t.cfg.hook_name_out, "blocks.0.hook_mlp_out");
  EXPECT_FALSE(t.cfg.b_dec_on_input());
  SaeConfig x;
  x.arch = SaeArch::Relu;
  x.d_in = 3, x.d_sae = 8, x.n_sources = 2;
  x.hook_name = "blocks.0.hook_resid_post";
  x.source_names = {"tiny-lm/blocks.0.hook_resid_post", "tiny-lm-chat/blocks.0.hook_resid_post"};
  save_saelens(testing::random_sae(x, 2), d.string());
  const Sae y = load_saelens(d.string());
  EXPECT_EQ(y.cfg.n_sources, 2);
  EXPECT_EQ(y.cfg.source_names, x.source_names);
  EXPECT_EQ(y.decoder_norms_per_source().size(), 16u);
  fs::remove_all(d);
}

void write_cfg(const fs::path& d, const nlohmann::json& j) {
  fs::create_directories(d);
  std::ofstream(d / kSaeCfgFile) << j.dump();
}

TEST(SaeLens, ErrorsNameTheFileAndField) {
  const fs::path d = scratch("bad");
  SaeConfig c;
  c.arch = SaeArch::JumpRelu;
  c.d_in = 4, c.d_sae = 6;
  c.hook_name = "h";
  save_saelens(testing::random_sae(c, 1), d.string());
  nlohmann::json good = read_json_file((d / kSaeCfgFile).string());
  auto expect_error = [&](nlohmann::json j, const std::string& needle) {
    write_cfg(d, j);
    try {
      load_saelens(d.string());
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
    }
  };
  auto without = [&](const char* key) {
    nlohmann::json j = good;
    j.erase(key);
    return j;
  };
  expect_error(without("d_in"), "'d_in'");
  expect_error(without("d_sae"), "'d_sae'");
  expect_error(without("hook_name"), "'hook_name'");
  nlohmann::json g = good;
  g["architecture"] = "gated";
  expect_error(g, "gated");
  g = good;
  g["architecture"] = "standard";
  g["activation_fn_str"] = "tanh-relu";
  expect_error(g, "tanh-relu");
  g = good;
  g["d_in"] = "four";
  expect_error(g, "'d_in'");
  g = good;
  g["normalize_activations"] = "per_token";
  expect_error(g, "per_token");
  // Fields SAELens defaults may be missing.
  nlohmann::json minimal = {{"d_in", 4}, {"d_sae", 6}, {"hook_name", "h"}, {"architecture", "jumprelu"}};
  write_cfg(d, minimal);
  const Sae m = load_saelens(d.string());
  EXPECT_TRUE(m.cfg.apply_b_dec_to_input);
  EXPECT_EQ(m.cfg.normalize_activations, ActNorm::None);
  // A weight of the wrong shape names the tensor; a missing threshold too.
  good["d_sae"] = 7;
  write_cfg(d, good);
  try {
    load_saelens(d.string());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("W_enc"), std::string::npos) << e.what();
  }
  fs::remove_all(d);
}

}  // namespace
}  // namespace glassbox::features
