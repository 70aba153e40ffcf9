// llama.cpp control-vector files: the layout llama.cpp reads, round trips,
// the files it (and we) refuse, and that applying one is the same change to
// the model as the steering direction it came from.
#include <cmath>

#include <gtest/gtest.h>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/steering/control_vector.h"
#include "test_util.h"
#include "common/expect_error.h"

using namespace glassbox;
using namespace glassbox::steering;
using steering_test::scratch;

using gbtest::expect_error;

namespace {

// A file written with the GGUF writer directly: what another tool might produce.
std::string raw_file(const std::string& name, const std::string& arch, const std::vector<std::string>& tensors,
                     const std::vector<std::vector<int64_t>>& shapes, DType dtype = DType::F32) {
  static std::vector<std::vector<float>> keep;
  GgufWriter w;
  w.set("general.architecture", gguf_str(arch));
  for (size_t i = 0; i < tensors.size(); ++i) {
    int64_t n = 1;
    for (int64_t s : shapes[i]) n *= s;
    keep.emplace_back(size_t(n), 0.5f);
    TensorToWrite t{tensors[i], dtype, shapes[i], keep.back().data(), dtype_nbytes(dtype, n)};
    w.tensors.push_back(t);
  }
  const std::string path = scratch(name);
  w.save(path);
  return path;
}

}  // namespace

TEST(ControlVector, WritesLlamaCppsLayout) {
  const SteeringVector v = steering_test::random_direction(16, {1, 3});
  const ControlVector cv = to_control_vector(v, 2.f, "gpt2");
  const std::string path = scratch("layout.gguf");
  write_control_vector(cv, path);
  const GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.kv("general.architecture").as_string("a"), "controlvector");
  EXPECT_EQ(f.kv("controlvector.model_hint").as_string("h"), "gpt2");
  EXPECT_EQ(f.kv("controlvector.layer_count").type, GgufType::INT32);  // as llama.cpp's cvector-generator writes it
  EXPECT_EQ(f.kv("controlvector.layer_count").as_int("n"), 2);
  ASSERT_EQ(f.tensors().size(), 2u);
  const RawTensor* t = f.find("direction.3");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->dtype, DType::F32);
  ASSERT_EQ(t->shape, std::vector<int64_t>{16});
  const float* x = static_cast<const float*>(t->data);
  for (int j = 0; j < 16; ++j) EXPECT_FLOAT_EQ(x[j], 2.f * v.find(3)->vector[size_t(j)]);  // coefficient baked in
  EXPECT_FALSE(f.find("direction.0"));
}

TEST(ControlVector, RoundTrips) {
  const SteeringVector v = steering_test::random_direction(8, {1, 2, 5});
  const std::string path = scratch("roundtrip.gguf");
  write_control_vector(to_control_vector(v, 1.f, "llama"), path);
  const ControlVector cv = read_control_vector(path);
  EXPECT_EQ(cv.model_hint, "llama");
  EXPECT_EQ(cv.n_embd, 8);
  ASSERT_EQ(cv.directions.size(), 3u);
  for (int l : {1, 2, 5}) EXPECT_EQ(cv.directions.at(l), v.find(l)->vector);
  const SteeringVector back = to_steering_vector(cv, path);
  EXPECT_EQ(back.method, Method::ControlVector);
  EXPECT_EQ(back.layer_ids(), (std::vector<int>{1, 2, 5}));
}

TEST(ControlVector, HasNoSlotForBlockZero) {
  // llama.cpp rejects a file holding direction.0; we neither write nor read one.
  const SteeringVector v = steering_test::random_direction(8, {0, 1});
  expect_error([&] { to_control_vector(v, 1.f, "gpt2"); }, {"block 0"});
  const ControlVector ok = to_control_vector(v, 1.f, "gpt2", {1});
  EXPECT_EQ(ok.directions.size(), 1u);
  const std::string p = raw_file("zero.gguf", "controlvector", {"direction.0", "direction.1"}, {{8}, {8}});
  expect_error([&] { read_control_vector(p); }, {"zero.gguf", "direction.0"});
}

TEST(ControlVector, RejectsMalformedFilesNamingTheFileAndField) {
  expect_error([&] { read_control_vector(raw_file("arch.gguf", "llama", {"direction.1"}, {{8}})); },
               {"arch.gguf", "general.architecture", "llama"});
  expect_error([&] { read_control_vector(raw_file("name.gguf", "controlvector", {"dir.1"}, {{8}})); },
               {"name.gguf", "dir.1"});
  expect_error([&] { read_control_vector(raw_file("dims.gguf", "controlvector", {"direction.1"}, {{2, 4}})); },
               {"dims.gguf", "direction.1", "dimensions"});
  expect_error([&] { read_control_vector(raw_file("f16.gguf", "controlvector", {"direction.1"}, {{8}}, DType::F16)); },
               {"f16.gguf", "F32"});
  expect_error(
      [&] { read_control_vector(raw_file("width.gguf", "controlvector", {"direction.1", "direction.2"}, {{8}, {9}})); },
      {"width.gguf", "direction.2"});
  // Several tensors for one layer add up, as llama.cpp sums them.
  const ControlVector twice = read_control_vector(raw_file("ok.gguf", "controlvector", {"direction.2"}, {{4}}));
  EXPECT_EQ(twice.directions.at(2), std::vector<float>(4, 0.5f));
}

// Found by fuzz_control_vector: a [0]-shaped direction made the reader memcpy
// from a null pointer (UBSan). An empty direction is no steering at all.
TEST(ControlVector, RejectsAnEmptyDirectionNamingTheTensor) {
  expect_error([&] { read_control_vector(raw_file("empty.gguf", "controlvector", {"direction.1"}, {{0}})); },
               {"empty.gguf", "direction.1", "no entries"});
  // After a well-formed direction too, before its width is compared.
  expect_error(
      [&] { read_control_vector(raw_file("empty2.gguf", "controlvector", {"direction.1", "direction.2"}, {{4}, {0}})); },
      {"empty2.gguf", "direction.2", "no entries"});
  // The fuzzer's own input (fuzz/corpus/fuzz_control_vector/crash-empty-direction).
  const std::string crash = GLASSBOX_SOURCE_DIR "/fuzz/corpus/fuzz_control_vector/crash-empty-direction";
  expect_error([&] { read_control_vector(crash); }, {"crash-empty-direction", "direction.1", "no entries"});
}

TEST(ControlVector, RefusesAFileForAnotherModel) {
  Config c;
  c.family = "gpt2";
  c.d_model = 8;
  c.n_layers = 4;
  ControlVector cv = to_control_vector(steering_test::random_direction(8, {1, 3}), 1.f, "gpt2");
  EXPECT_EQ(control_vector_interventions(cv, c, 1.f, "f.gguf").size(), 2u);
  cv.model_hint = "llama";
  expect_error([&] { control_vector_interventions(cv, c, 1.f, "f.gguf"); }, {"f.gguf", "model_hint", "llama"});
  EXPECT_EQ(control_vector_interventions(cv, c, 1.f, "f.gguf", /*check_hint=*/false).size(), 2u);
  cv.model_hint = "gpt2";
  c.d_model = 16;
  expect_error([&] { control_vector_interventions(cv, c, 1.f, "f.gguf"); }, {"f.gguf", "n_embd 8", "16"});
  c.d_model = 8;
  c.n_layers = 3;
  expect_error([&] { control_vector_interventions(cv, c, 1.f, "f.gguf"); }, {"f.gguf", "direction.3", "0..2"});
  // GGUF's spelling of a family is accepted for Hugging Face's.
  c.family = "gpt_neox";
  c.n_layers = 4;
  cv.model_hint = "gptneox";
  EXPECT_NO_THROW(control_vector_interventions(cv, c, 1.f, "f.gguf"));
}

TEST(ControlVector, AppliesAsItsSteeringDirectionDoes) {
  REQUIRE_MODEL("tiny-lm");
  const Model m = Model::load(steering_test::model_dir("tiny-lm"));
  const Config& c = m.config();
  const SteeringVector v = steering_test::random_direction(c.d_model, {1, 2});
  const std::string path = scratch("apply.gguf");
  write_control_vector(to_control_vector(v, 1.f, control_vector_model_hint(c)), path);
  Engine e(m);
  const Batch b = Batch::single({0, 17, 42, 99, 5});
  const Tensor plain = e.logits(b);
  HookRegistry r1(c), r2(c);
  const auto h1 = attach(r1, steering_interventions(v, {3.f, {}, {}}));
  const auto h2 = attach(r2, control_vector_interventions(read_control_vector(path), c, 3.f, path));
  const Tensor steered = e.logits(b, &r1), from_file = e.logits(b, &r2);
  double max_diff = 0, changed = 0;
  for (int64_t i = 0; i < steered.numel(); ++i) {
    max_diff = std::max(max_diff, double(std::abs(steered.f32()[i] - from_file.f32()[i])));
    changed = std::max(changed, double(std::abs(steered.f32()[i] - plain.f32()[i])));
  }
  EXPECT_EQ(max_diff, 0.0);
  EXPECT_GT(changed, 0.1);
  // Block l's output is blocks.{l}.hook_resid_post: the same vector added by hand there.
  HookRegistry r3(c);
  const std::vector<float> x1 = v.find(1)->vector, x2 = v.find(2)->vector;
  auto add = [](const std::vector<float>& x) {
    return [x](TensorView& act, const HookContext&) {
      const int64_t d = int64_t(x.size()), rows = act.numel() / d;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < d; ++j) act.data[r * d + j] += 3.f * x[size_t(j)];
    };
  };
  auto k1 = r3.add("blocks.1.hook_resid_post", add(x1), HookMode::Replace);
  auto k2 = r3.add("blocks.2.hook_resid_post", add(x2), HookMode::Replace);
  const Tensor by_hand = e.logits(b, &r3);
  for (int64_t i = 0; i < steered.numel(); ++i) ASSERT_NEAR(by_hand.f32()[i], from_file.f32()[i], 1e-5);
}
