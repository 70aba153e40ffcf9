#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "glassbox/config.h"

using namespace glassbox;

namespace {

TEST(ConfigJson, NamesTheFeatureFields) {
  Config c;
  c.family = "llama";
  c.n_layers = 2;
  c.norm = NormKind::RMSNorm;
  c.positional = PosKind::Rotary;
  c.gated_mlp = true;
  const nlohmann::json j = to_json(c);
  EXPECT_EQ(j["family"], "llama");
  EXPECT_EQ(j["n_layers"], 2);
  EXPECT_EQ(j["norm"], "RMSNorm");
  EXPECT_EQ(j["positional"], "rotary");
  EXPECT_EQ(j["act"], "gelu_new");
  EXPECT_EQ(j["gated_mlp"], true);
  for (const char* k : {"d_model", "n_heads", "n_kv_heads", "d_head", "d_mlp", "d_vocab", "n_ctx", "norm_eps",
                        "rotary_dim", "rope_theta", "rope_freq_factors", "parallel_residual", "attn_only",
                        "tied_embeddings"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j.size(), 20u);
  EXPECT_TRUE(j["rope_freq_factors"].empty());  // plain RoPE
}

}  // namespace
