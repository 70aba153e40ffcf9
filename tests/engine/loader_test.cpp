// Loading real checkpoint layouts, and the errors a user sees when one is wrong.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "test_util.h"
#include "common/expect_error.h"

using namespace glassbox;
using gbtest::fixture;
namespace fs = std::filesystem;

using gbtest::expect_error;

namespace {

struct Copy {
  gbtest::TempDir dir;
  explicit Copy(const std::string& name) {
    for (const auto& f : fs::directory_iterator(fixture(name)))
      if (f.path().filename() != "expected.safetensors") fs::copy(f.path(), dir.path / f.path().filename());
  }
  nlohmann::json config() const { return nlohmann::json::parse(std::ifstream(dir / "config.json")); }
  void write_config(const nlohmann::json& j) const { std::ofstream(dir / "config.json") << j.dump(); }
  // Rewrites model.safetensors keeping tensors for which keep(name) is true.
  void filter(const std::function<bool(const std::string&)>& keep) const {
    std::vector<uint8_t> blob;
    std::vector<TensorToWrite> ts;
    {
      const SafetensorsFile f = SafetensorsFile::open(dir / "model.safetensors");
      for (const RawTensor& r : f.tensors())
        if (keep(r.name)) ts.push_back({r.name, r.dtype, r.shape, nullptr, r.nbytes});
      size_t total = 0;
      for (auto& t : ts) total += t.nbytes;
      blob.resize(total);
      size_t off = 0;
      for (auto& t : ts) {
        std::memcpy(blob.data() + off, f.find(t.name)->data, t.nbytes);
        t.data = blob.data() + off;
        off += t.nbytes;
      }
    }
    save_safetensors(dir / "model.safetensors", ts);
  }
};

TEST(Loader, ReadsEveryFamilyWithItsConfig) {
  const Model gpt2 = Model::load(fixture("gpt2"));
  EXPECT_EQ(gpt2.config().family, "gpt2");
  EXPECT_TRUE(gpt2.config().tied_embeddings);
  const Model neox = Model::load(fixture("neox"));
  EXPECT_TRUE(neox.config().parallel_residual);
  EXPECT_LT(neox.config().rotary_dim, neox.config().d_head);
  const Model llama = Model::load(fixture("llama"));  // sharded
  EXPECT_LT(llama.config().n_kv_heads, llama.config().n_heads);
  EXPECT_FLOAT_EQ(llama.config().rope_theta, 500000.f);
  const Model gguf = Model::load(fixture("gguf-llama") + "/model.gguf");
  EXPECT_EQ(gguf.config().n_kv_heads, llama.config().n_kv_heads);
  EXPECT_GT(gguf.converted_bytes(), 0u);  // F16 / BF16 / Q8_0 / Q4_0 tensors converted once
}

TEST(Loader, F32WeightsAreServedFromTheMappingWithoutCopies) {
  const Model m = Model::load(fixture("gpt2"));
  EXPECT_EQ(m.converted_bytes(), 0u);
  for (const auto& t : m.stored_tensors()) {
    const bool buffer = t.name.find(".attn.bias") != std::string::npos || t.name.find("masked_bias") != std::string::npos;
    EXPECT_TRUE(buffer || t.zero_copy) << t.name;
  }
}

TEST(Loader, MissingTensorIsNamed) {
  Copy c("gpt2");
  c.filter([](const std::string& n) { return n != "transformer.h.1.mlp.c_fc.bias"; });
  expect_error([&] { Model::load(c.dir.str()); }, {"transformer.h.1.mlp.c_fc.bias", "missing"});
}

TEST(Loader, ShapeDisagreeingWithConfigIsNamed) {
  Copy c("gpt2");
  auto j = c.config();
  j["n_inner"] = 64;
  c.write_config(j);
  expect_error([&] { Model::load(c.dir.str()); }, {"mlp.c_fc.weight", "config implies", "[32, 64]"});
}

TEST(Loader, UnknownModelTypeListsSupportedOnes) {
  Copy c("gpt2");
  auto j = c.config();
  j["model_type"] = "mamba";
  c.write_config(j);
  expect_error([&] { Model::load(c.dir.str()); }, {"mamba", "gpt_neox", "llama"});
}

TEST(Loader, MissingConfigFieldIsNamed) {
  Copy c("llama-tied");
  auto j = c.config();
  j.erase("num_hidden_layers");
  c.write_config(j);
  expect_error([&] { Model::load(c.dir.str()); }, {"config.json", "num_hidden_layers"});
}

TEST(Loader, UnexpectedTensorsSuggestTheWrongFamily) {
  Copy c("llama-tied");
  auto j = c.config();
  j["model_type"] = "gpt2";
  j["n_embd"] = 32;
  j["n_layer"] = 2;
  j["n_head"] = 4;
  c.write_config(j);
  expect_error([&] { Model::load(c.dir.str()); }, {"missing"});
}

TEST(Loader, NonexistentPathAndMissingConfig) {
  expect_error([] { Model::load("/nonexistent/model"); }, {"/nonexistent/model"});
  gbtest::TempDir d;
  fs::copy(fixture("gpt2") + "/model.safetensors", d / "model.safetensors");
  expect_error([&] { Model::load(d.str()); }, {"config.json"});
}

TEST(Loader, RopeScalingIsRefusedRatherThanIgnored) {
  Copy c("llama-tied");
  auto j = c.config();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  c.write_config(j);
  expect_error([&] { Model::load(c.dir.str()); }, {"rope_scaling", "linear", "llama3"});
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}};
  c.write_config(j);
  expect_error([&] { Model::load(c.dir.str()); }, {"rope_scaling", "high_freq_factor"});
}

TEST(Forward, TokenOutOfRangeAndTooLongPromptAreErrors) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  expect_error([&] { e.logits(Batch::single({1, m.config().d_vocab})); }, {"token id", "out of range"});
  expect_error([&] { e.logits(Batch::single({-1})); }, {"token id"});
  std::vector<int32_t> long_prompt(static_cast<size_t>(m.config().n_ctx + 1), 1);
  expect_error([&] { e.logits(Batch::single(long_prompt)); }, {"context"});
}

}  // namespace
