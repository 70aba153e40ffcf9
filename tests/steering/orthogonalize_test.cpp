// Directional ablation baked into the weights: for every family, the saved
// model (its own format) gives the run-time ablation's logits; the residual
// stream of the saved model holds nothing along the direction; a Hugging
// Face-style forward (tests/reference, torch) and llama.cpp read the files.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <gtest/gtest.h>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/gguf_export.h"
#include "glassbox/safetensors.h"
#include "glassbox/steering/orthogonalize.h"
#include "llama_cpp_util.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace glassbox;
using namespace glassbox::steering;

namespace {

std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

std::vector<float> random_vector(int64_t d, uint64_t seed) {
  return steering_test::random_direction(d, {0}, seed).layers[0].vector;
}

// The fixture's own batch (two rows, the second right-padded).
Batch fixture_batch(const std::string& name) {
  const SafetensorsFile f = SafetensorsFile::open(fixture(name) + "/expected.safetensors");
  const RawTensor& t = *f.find("tokens");
  const RawTensor& m = *f.find("attention_mask");
  Batch b;
  b.B = t.shape[0];
  b.T = t.shape[1];
  const int32_t* tp = static_cast<const int32_t*>(t.data);
  const int32_t* mp = static_cast<const int32_t*>(m.data);
  b.tokens.assign(tp, tp + b.B * b.T);
  for (int64_t i = 0; i < b.B * b.T; ++i) b.mask.push_back(uint8_t(mp[i] != 0));
  return b;
}

Tensor ablated_logits(const Model& m, const std::vector<float>& r, const Batch& b) {
  HookRegistry hooks(m.config());
  const auto handles = attach(hooks, ablation_interventions(r, m.config()));
  Engine e(m);
  return e.logits(b, &hooks);
}

double max_diff(const Tensor& a, const Tensor& b, const Batch& batch) {
  EXPECT_EQ(a.shape, b.shape);
  const int64_t V = a.shape.back();
  double d = 0;
  for (int64_t i = 0; i < batch.B * batch.T; ++i)
    if (batch.valid(i / batch.T, i % batch.T))
      for (int64_t v = 0; v < V; ++v) d = std::max(d, double(std::fabs(a.f32()[i * V + v] - b.f32()[i * V + v])));
  return d;
}

class OrthogonalizeFamily : public ::testing::TestWithParam<std::string> {};

TEST_P(OrthogonalizeFamily, SavedModelGivesTheRunTimeAblationsLogits) {
  const std::string name = GetParam();
  const Model m = Model::load(fixture(name));
  const std::vector<float> r = random_vector(m.config().d_model, 3);
  const std::string out = steering_test::scratch("orth-" + name);
  fs::remove_all(out);
  const OrthogonalizeResult res = save_orthogonalized(fixture(name), r, out);
  EXPECT_EQ(res.format, "safetensors");
  const Model saved = Model::load(out);
  const Batch b = fixture_batch(name);
  Engine plain(m), baked(saved);
  const Tensor want = ablated_logits(m, r, b), got = baked.logits(b), before = plain.logits(b);
  EXPECT_LT(max_diff(want, got, b), 1e-4) << name;
  EXPECT_GT(max_diff(want, before, b), 1e-3) << name << ": the ablation must change something";
  // Nothing along r anywhere in the saved model's residual stream.
  ForwardOptions fo;
  for (int l = 0; l < m.config().n_layers; ++l) fo.keep.insert({Site::resid_post, l});
  const ForwardResult fr = baked.forward(b, nullptr, nullptr, fo);
  double nn = 0;
  for (float x : r) nn += double(x) * x;
  for (const auto& [p, t] : fr.kept)
    for (int64_t i = 0; i < t.numel() / m.config().d_model; ++i) {
      double dot = 0;
      for (int64_t j = 0; j < m.config().d_model; ++j) dot += t.f32()[i * m.config().d_model + j] * r[size_t(j)];
      EXPECT_LT(std::fabs(dot / std::sqrt(nn)), 1e-4) << p.name();
    }
  // The in-memory form is the same model.
  const Model in_memory = orthogonalized_model(m, r);
  Engine mem(in_memory);
  EXPECT_LT(max_diff(want, mem.logits(b), b), 1e-4) << name;
  EXPECT_EQ(res.untied, m.config().tied_embeddings) << name;
}

INSTANTIATE_TEST_SUITE_P(Families, OrthogonalizeFamily,
                         ::testing::Values("gpt2", "neox", "neox-seq", "llama", "llama-tied", "qwen2", "attn-only"));

TEST(Orthogonalize, GgufModelsStayGguf) {
  for (const std::string name : {"gguf-gpt2", "gguf-llama"}) {
    const std::string src = fixture(name) + "/model.gguf";
    const Model m = Model::load(src);
    const std::vector<float> r = random_vector(m.config().d_model, 5);
    const std::string out = steering_test::scratch("orth-" + name + ".gguf");
    EXPECT_EQ(save_orthogonalized(src, r, out).format, "gguf");
    const Model saved = Model::load(out);
    const Batch b = Batch::from_rows({{1, 5, 9, 2, 7, 3}, {4, 4, 8, 1, 0, 6}});
    Engine baked(saved);
    EXPECT_LT(max_diff(ablated_logits(m, r, b), baked.logits(b), b), 1e-4) << name;
    ASSERT_TRUE(saved.tokenizer() != nullptr || m.tokenizer() == nullptr) << name << ": the tokenizer travels";
  }
}

// The saved directories, with glassbox's run-time ablation as their expected
// logits, through tests/reference/crosscheck_hf_style.py: each family's own
// Hugging Face module structure in torch, reading the files as HF would.
TEST(Orthogonalize, HuggingFaceStyleForwardReadsTheSavedFiles) {
  const fs::path root = steering_test::scratch("orth-hf");
  fs::remove_all(root);
  for (const std::string name : {"gpt2", "neox", "neox-seq", "llama", "llama-tied", "qwen2"}) {
    const Model m = Model::load(fixture(name));
    const std::vector<float> r = random_vector(m.config().d_model, 11);
    save_orthogonalized(fixture(name), r, (root / name).string());
    const Batch b = fixture_batch(name);
    const Tensor logits = ablated_logits(m, r, b);
    const SafetensorsFile f = SafetensorsFile::open(fixture(name) + "/expected.safetensors");
    std::vector<TensorToWrite> ts;
    for (const char* k : {"tokens", "attention_mask", "position_ids"}) {
      const RawTensor& t = *f.find(k);
      ts.push_back({k, t.dtype, t.shape, t.data, t.nbytes});
    }
    ts.push_back({"logits", DType::F32, logits.shape, logits.data, logits.nbytes()});
    save_safetensors((root / name / "expected.safetensors").string(), ts);
  }
  const std::string cmd = "/usr/bin/python3 " + std::string(GLASSBOX_SOURCE_DIR) +
                          "/tests/reference/crosscheck_hf_style.py " + root.string() + " 1e-4 > " +
                          (root / "log.txt").string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream in(root / "log.txt");
  std::stringstream log;
  log << in.rdbuf();
  if (status != 0 && log.str().find("No module named") != std::string::npos)
    GTEST_SKIP() << "no python3-torch / numpy (the independent reference): " << log.str();
  EXPECT_EQ(status, 0) << log.str();
  EXPECT_NE(log.str().find("gpt2"), std::string::npos) << log.str();
}

// llama.cpp runs the orthogonalised GGUF of tiny-lm (GPT-2 layout, BPE) and
// its last-position logits are glassbox's run-time ablation's.
TEST(OrthogonalizeLlamaCpp, LlamaCppRunsTheOrthogonalisedGguf) {
  REQUIRE_LLAMA_CPP(bin);
  REQUIRE_MODEL("tiny-lm");
  const Model tiny = Model::load(steering_test::model_dir("tiny-lm"));
  const std::string gguf = steering_test::scratch("tiny-orth-src.gguf"), out = steering_test::scratch("tiny-orth.gguf");
  save_gguf(tiny, gguf);
  const std::vector<float> r = random_vector(tiny.config().d_model, 17);
  save_orthogonalized(gguf, r, out);
  const steering_test::LlamaLogits ll =
      steering_test::llama_logits(bin, out, "The computer is", "", steering_test::scratch("orth-llama.txt"));
  ASSERT_FALSE(ll.tokens.empty());
  const Model m = Model::load(gguf);
  const Tensor L = ablated_logits(m, r, Batch::single(ll.tokens));
  const int64_t V = m.config().d_vocab, last = (int64_t(ll.tokens.size()) - 1) * V;
  ASSERT_EQ(ll.n_vocab, V);
  double sum = 0;
  for (int64_t v = 0; v < V; ++v) sum += L.f32()[last + v];
  for (int k = 0; k < 3; ++k) {
    EXPECT_NEAR(ll.head[size_t(k)], L.f32()[last + k], 1e-3);
    EXPECT_NEAR(ll.tail[size_t(k)], L.f32()[last + V - 3 + k], 1e-3);
  }
  // The printed sum is accumulated in float over d_vocab logits.
  EXPECT_NEAR(ll.sum, sum, 2e-2 + 2e-5 * std::fabs(sum));
}

TEST(Orthogonalize, ClearErrors) {
  const std::string src = fixture("gpt2");
  const auto expect_error = [](const std::function<void()>& f, const std::string& part) {
    try {
      f();
      ADD_FAILURE() << "no Error (expected '" << part << "')";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error([&] { save_orthogonalized(src, std::vector<float>(7, 1.f), steering_test::scratch("bad"), DType::F32, "d.json"); },
               "width 7");
  expect_error([&] { save_orthogonalized(src, std::vector<float>(32, 0.f), steering_test::scratch("bad")); }, "zero");
  expect_error([&] { save_orthogonalized(src, random_vector(32, 1), steering_test::scratch("bad.gguf")); },
               "directory");
  expect_error([&] { save_orthogonalized(src, random_vector(32, 1), src); }, "overwrite");
  expect_error([&] { ablation_interventions(std::vector<float>(5, 1.f), Model::load(src).config(), "x.json"); },
               "width 5");
  const SteeringVector v = steering_test::random_direction(32, {0, 2});
  expect_error([&] { ablation_direction(v, 7, "v.json"); }, "no vector at layer 7");
  expect_error([&] { ablation_direction(v, -1, "v.json"); }, "--layer");
  EXPECT_EQ(ablation_direction(v, 2, "v.json"), v.find(2)->vector);
}

}  // namespace
