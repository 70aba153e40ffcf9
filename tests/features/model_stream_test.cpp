// ModelActivationStream against the engine run on one sequence at a time,
// and the token-file formats it reads.
#include "glassbox/features/model_stream.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "glassbox/tokenizer.h"
#include "harvest_test_util.h"

namespace glassbox::features {
namespace {

using testing::read_all;
using testing::tiny_lm;

std::vector<int32_t> corpus_ids() { return tiny_lm()->tokenizer()->encode(testing::corpus_text(), false, false); }

ModelActivationStream make_stream(const std::vector<std::string>& hooks, ModelStreamOptions o) {
  return ModelActivationStream({tiny_lm()}, {"tiny-lm"}, hooks, corpus_ids(), o);
}

TEST(ModelActivationStream, RowsAreTheEnginesActivationsOfEachSequenceWithBosFirst) {
  ModelStreamOptions o;
  o.context = 16;
  o.batch = 3;
  ModelActivationStream s = make_stream({"blocks.1.hook_resid_post", "blocks.0.attn.hook_z", "hook_embed"}, o);
  const Config& c = tiny_lm()->config();
  ASSERT_EQ(s.site_names(),
            (std::vector<std::string>{"blocks.1.hook_resid_post", "blocks.0.attn.hook_z", "hook_embed"}));
  ASSERT_EQ(s.dims(), (std::vector<int64_t>{c.d_model, int64_t(c.n_heads) * c.d_head, c.d_model}));
  const int64_t corpus = int64_t(corpus_ids().size());
  EXPECT_EQ(s.sequences(), corpus / 15);
  ASSERT_GE(s.sequences(), 7);  // several batches, the last one partial
  const testing::AllRows all = read_all(s, 5);
  ASSERT_EQ(all.rows, s.sequences() * 16);

  Engine e(*tiny_lm());
  ForwardOptions fo;
  fo.keep = {{Site::resid_post, 1}, {Site::z, 0}, {Site::embed, -1}};
  const std::vector<int32_t> ids = corpus_ids();
  for (int64_t q = 0; q < s.sequences(); ++q) {
    std::vector<int32_t> seq = {tiny_lm()->tokenizer()->bos_id()};
    seq.insert(seq.end(), ids.begin() + q * 15, ids.begin() + (q + 1) * 15);
    ASSERT_EQ(s.sequence(q), seq);
    const ForwardResult r = e.forward(Batch::single(seq), nullptr, nullptr, fo);
    const Tensor* want[] = {&r.get({Site::resid_post, 1}), &r.get({Site::z, 0}), &r.get({Site::embed, -1})};
    for (size_t site = 0; site < 3; ++site) {
      const int64_t d = s.dims()[site];
      for (int64_t i = 0; i < 16 * d; ++i)
        ASSERT_NEAR(all.sites[site][size_t(q * 16 * d + i)], want[site]->f32()[i], 1e-4)
            << s.site_names()[site] << " sequence " << q << " element " << i;
    }
    for (int64_t t = 0; t < 16; ++t) EXPECT_EQ(all.tokens[size_t(q * 16 + t)], seq[size_t(t)]);
  }
}

TEST(ModelActivationStream, ExcludeBosDropsExactlyTheBosRows) {
  ModelStreamOptions o;
  o.context = 12;
  o.batch = 4;
  ModelActivationStream with_bos = make_stream({"blocks.0.hook_resid_post"}, o);
  const testing::AllRows with = read_all(with_bos, 1000);
  o.exclude_bos = true;
  ModelActivationStream s = make_stream({"blocks.0.hook_resid_post"}, o);
  EXPECT_EQ(s.rows_per_sequence(), 11);
  const testing::AllRows without = read_all(s, 7);
  ASSERT_EQ(without.rows, s.sequences() * 11);
  const int64_t d = s.dims()[0];
  const int32_t bos = tiny_lm()->tokenizer()->bos_id();
  for (int64_t q = 0; q < s.sequences(); ++q)
    for (int64_t t = 1; t < 12; ++t) {
      const int64_t r_with = q * 12 + t, r_without = q * 11 + t - 1;
      ASSERT_EQ(0, std::memcmp(&with.sites[0][size_t(r_with * d)], &without.sites[0][size_t(r_without * d)],
                               size_t(d) * sizeof(float)));
      EXPECT_EQ(without.tokens[size_t(r_without)], with.tokens[size_t(r_with)]);
    }
  for (int64_t q = 0; q < s.sequences(); ++q) EXPECT_EQ(with.tokens[size_t(q * 12)], bos);
}

TEST(ModelActivationStream, NoBosTakesWholeWindowsOfTheCorpus) {
  ModelStreamOptions o;
  o.context = 10;
  o.prepend_bos = false;
  ModelActivationStream s = make_stream({"hook_embed"}, o);
  const std::vector<int32_t> ids = corpus_ids();
  EXPECT_EQ(s.sequences(), int64_t(ids.size()) / 10);
  const testing::AllRows all = read_all(s, 64);
  for (int64_t r = 0; r < all.rows; ++r) ASSERT_EQ(all.tokens[size_t(r)], ids[size_t(r)]);
}

TEST(ModelActivationStream, MaxTokensCapsWholeSequences) {
  ModelStreamOptions o;
  o.context = 16;
  o.max_tokens = 50;
  EXPECT_EQ(make_stream({"hook_embed"}, o).sequences(), 3);
  o.max_tokens = 10;
  EXPECT_THROW(make_stream({"hook_embed"}, o), Error);
}

TEST(ModelActivationStream, GlobsExpandInForwardOrderAndPerHeadSitesFlatten) {
  ModelStreamOptions o;
  o.context = 8;
  ModelActivationStream s = make_stream({"blocks.*.hook_resid_post", "blocks.1.hook_resid_post", "blocks.2.attn.hook_q"}, o);
  EXPECT_EQ(s.site_names(), (std::vector<std::string>{"blocks.0.hook_resid_post", "blocks.1.hook_resid_post",
                                                      "blocks.2.hook_resid_post", "blocks.3.hook_resid_post",
                                                      "blocks.2.attn.hook_q"}));
  EXPECT_EQ(s.dims().back(), int64_t(tiny_lm()->config().n_heads) * tiny_lm()->config().d_head);
  ActivationBatch b;
  EXPECT_EQ(s.next(b, 3), 3);
  EXPECT_EQ(b.sites.size(), 5u);
  EXPECT_EQ(b.sites[4].size(), size_t(3 * s.dims()[4]));
}

TEST(ModelActivationStream, SeekAndRewindReproduceTheSameRowsBitForBit) {
  ModelStreamOptions o;
  o.context = 16;
  o.batch = 3;
  ModelActivationStream s = make_stream({"blocks.2.hook_mlp_out"}, o);
  const testing::AllRows first = read_all(s, 7);
  s.rewind();
  const testing::AllRows again = read_all(s, 1000);
  ASSERT_EQ(first.sites, again.sites);
  const int64_t d = s.dims()[0];
  for (int64_t row : {int64_t(37), int64_t(48), first.rows - 1, first.rows}) {
    s.seek(row);
    const testing::AllRows tail = read_all(s, 13);
    ASSERT_EQ(tail.rows, first.rows - row);
    ASSERT_TRUE(std::equal(tail.sites[0].begin(), tail.sites[0].end(), first.sites[0].begin() + row * d)) << row;
  }
  EXPECT_THROW(s.seek(first.rows + 1), Error);
}

TEST(ModelActivationStream, SeveralModelsReadTheSameTokensUnderPrefixedNames) {
  ModelStreamOptions o;
  o.context = 16;
  ModelActivationStream both({tiny_lm(), tiny_lm("tiny-lm-chat")}, {"tiny-lm", "tiny-lm-chat"},
                             {"blocks.3.hook_resid_post"}, corpus_ids(), o);
  EXPECT_EQ(both.site_names(),
            (std::vector<std::string>{"tiny-lm/blocks.3.hook_resid_post", "tiny-lm-chat/blocks.3.hook_resid_post"}));
  const testing::AllRows a = read_all(both, 100);
  ModelActivationStream one = make_stream({"blocks.3.hook_resid_post"}, o);
  const testing::AllRows b = read_all(one, 100);
  EXPECT_EQ(a.sites[0], b.sites[0]);
  EXPECT_NE(a.sites[0], a.sites[1]);  // a different model: different activations for the same tokens
  EXPECT_EQ(a.tokens, b.tokens);
}

TEST(ModelActivationStream, FromPathsTokenisesTextAndNamesModelsByDirectory) {
  testing::TempDir tmp("stream");
  testing::write_file(tmp / "corpus.txt", testing::corpus_text());
  ModelStreamOptions o;
  o.context = 32;
  ModelActivationStream s({testing::model_dir("tiny-lm"), testing::model_dir("tiny-lm-chat") + "/"}, {"hook_embed"},
                          tmp / "corpus.txt", o);
  EXPECT_EQ(s.model_names(), (std::vector<std::string>{"tiny-lm", "tiny-lm-chat"}));
  EXPECT_EQ(s.corpus_tokens(), int64_t(corpus_ids().size()));
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no Error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ModelActivationStream, BadInputsGetErrorsThatSayWhat) {
  testing::TempDir tmp("stream-err");
  const std::string lm = testing::model_dir("tiny-lm");
  testing::write_file(tmp / "short.txt", "Hello there.");
  ModelStreamOptions o;
  o.context = 64;
  expect_error([&] { ModelActivationStream(lm, {"hook_embed"}, tmp / "missing.txt", o); }, "not found");
  expect_error([&] { ModelActivationStream(lm, {"hook_embed"}, tmp.path.string(), o); }, "directory");
  expect_error([&] { ModelActivationStream(lm, {"hook_embed"}, tmp / "short.txt", o); }, "fewer than one sequence");
  expect_error([&] { ModelActivationStream(lm, {"hook_embed"}, tmp / "short.txt", o); }, "short.txt: ");
  expect_error([&] { make_stream({"blocks.1.hook_resid_pots"}, o); }, "blocks.1.hook_resid_post");
  expect_error([&] { make_stream({"blocks.9.*"}, o); }, "blocks.9");
  expect_error([&] { make_stream({"blocks.0.attn.hook_pattern"}, o); }, "no row per token");
  o.context = 4096;
  expect_error([&] { make_stream({"hook_embed"}, o); }, "exceeds the model's");
  o.context = 16;
  expect_error([&] { ModelActivationStream({tiny_lm()}, {"tiny-lm"}, {"hook_embed"}, {1, 2, 99999, 3}, o); },
               "outside the model's vocabulary");
}

TEST(TokenFile, ReadsNanoGptLlmcAndSafetensorsTokens) {
  testing::TempDir tmp("tokens");
  const std::vector<int32_t> ids = {0, 1, 2, 50256, 65535, 7};
  std::string raw;
  for (int32_t id : ids) raw += char(id & 0xff), raw += char(id >> 8);
  testing::write_file(tmp / "nano.bin", raw);
  EXPECT_EQ(read_token_file(tmp / "nano.bin"), ids);

  std::vector<int32_t> header(256, 0);
  header[0] = 20240520, header[1] = 1, header[2] = int32_t(ids.size());
  testing::write_file(tmp / "llmc.bin", std::string(reinterpret_cast<const char*>(header.data()), 1024) + raw);
  EXPECT_EQ(read_token_file(tmp / "llmc.bin"), ids);
  testing::write_file(tmp / "llmc-short.bin", std::string(reinterpret_cast<const char*>(header.data()), 1024) + raw.substr(2));
  expect_error([&] { read_token_file(tmp / "llmc-short.bin"); }, "header says 6 tokens");

  testing::write_file(tmp / "odd.bin", raw + "x");
  expect_error([&] { read_token_file(tmp / "odd.bin"); }, "whole number of uint16");

  const std::vector<int64_t> wide = {3, 1, 4, 1, 5};
  save_safetensors(tmp / "t.safetensors", {{"ids", DType::I64, {5}, wide.data(), 40}});
  EXPECT_EQ(read_token_file(tmp / "t.safetensors"), (std::vector<int32_t>{3, 1, 4, 1, 5}));
  const std::vector<float> f = {1, 2};
  save_safetensors(tmp / "f.safetensors", {{"tokens", DType::F32, {2}, f.data(), 8}});
  expect_error([&] { read_token_file(tmp / "f.safetensors"); }, "integer");
  const std::vector<int32_t> neg = {1, -1};
  save_safetensors(tmp / "n.safetensors", {{"tokens", DType::I32, {2}, neg.data(), 8}});
  expect_error([&] { read_token_file(tmp / "n.safetensors"); }, "not a token id");
  expect_error([&] { read_token_file(tmp / "nothing.bin"); }, "not found");
}

}  // namespace
}  // namespace glassbox::features
