// Crosscoder model diffing on the ground truth of the chat organism:
// tiny-lm-chat is tiny-lm fine-tuned to open every response with
// " Indeed, friend!", and the model diff finds that change at the response
// start, carried mostly by MLP0. A crosscoder trained on both models'
// blocks.0.hook_resid_post over the same chats and plain text must find
// latents exclusive to the tuned model, and they must fire at the response
// start rather than after it.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "glassbox/features/crosscoder_diff.h"
#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/generate.h"
#include "glassbox/steering/chat_style.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::features;
namespace fs = std::filesystem;

namespace {

bool shipped(const char* name) { return fs::exists(fs::path(zoo::models_dir()) / name / "model.safetensors"); }

std::vector<analysis::DiffPrompt> with_responses(Engine& writer, const std::vector<std::vector<int32_t>>& prompts,
                                                 int n) {
  SamplingOptions so;
  so.max_new_tokens = n;
  so.temperature = 0;
  const Generation g = generate(writer, prompts, so);
  std::vector<analysis::DiffPrompt> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    analysis::DiffPrompt d{prompts[i], int64_t(prompts[i].size())};
    d.tokens.insert(d.tokens.end(), g.tokens[i].begin(), g.tokens[i].end());
    out.push_back(std::move(d));
  }
  return out;
}

struct Trained {
  std::shared_ptr<const Model> base, tuned;
  std::vector<analysis::DiffPrompt> heldout;
  int64_t start = 0;
  Sae crosscoder;
};

// Trained once for the suite: ~6k training tokens (128 chats answered by the
// chat model, and 2048 tokens of plain held-out text), 200 steps of 512 rows, a ReLU crosscoder whose L1 term
// weighs each latent by the sum of its two decoder norms (Lindsey et al.).
const Trained& trained() {
  static const Trained t = [] {
    Trained r;
    r.base = std::make_shared<const Model>(Model::load(zoo::models_dir() + "/tiny-lm"));
    r.tuned = std::make_shared<const Model>(Model::load(zoo::models_dir() + "/tiny-lm-chat"));
    const steering::ChatStyleData d = steering::chat_style_data(*r.tuned, 128, 24, 2048);
    Engine et(*r.tuned);
    std::vector<int32_t> corpus;
    for (const auto& p : with_responses(et, d.train_prompts, 16)) corpus.insert(corpus.end(), p.tokens.begin(), p.tokens.end());
    corpus.insert(corpus.end(), d.benign.begin(), d.benign.end());
    r.heldout = with_responses(et, d.heldout_prompts, 16);
    r.start = int64_t(r.tuned->tokenizer()->encode(d.marker, false, false).size()) + 1;

    const std::string site = "blocks.0.hook_resid_post";
    ModelStreamOptions mo;
    mo.context = 64;
    mo.batch = 16;
    ModelActivationStream live({r.base, r.tuned}, {"tiny-lm", "tiny-lm-chat"}, {site}, corpus, mo);
    // One pass over the corpus, kept: training reads it for many epochs.
    std::vector<std::vector<float>> rows(2);
    ActivationBatch b;
    while (live.next(b, 4096) > 0)
      for (size_t k = 0; k < 2; ++k) rows[k].insert(rows[k].end(), b.sites[k].begin(), b.sites[k].end());
    MemoryStream stream(live.site_names(), live.dims(), std::move(rows));
    DictionarySpec s;
    s.sae.arch = SaeArch::Relu;
    s.sae.d_in = r.base->config().d_model;
    s.sae.d_sae = 256;
    s.sae.n_sources = 2;
    s.sae.source_names = stream.site_names();
    s.sae.hook_name = s.sae.source_names[0];
    s.loss.l1_coefficient = 2.f;
    s.optimizer.lr = 1e-3f;
    TrainDictionariesOptions o;
    o.batch_rows = 512;
    o.total_tokens = 512 * 200;
    o.progress = false;
    r.crosscoder = train_dictionaries(stream, {s}, o).dictionaries.at(0).sae;
    return r;
  }();
  return t;
}

}  // namespace

TEST(CrosscoderDiff, TunedOnlyLatentsFireAtTheResponseStart) {
  if (!shipped("tiny-lm") || !shipped("tiny-lm-chat")) GTEST_SKIP() << "tiny-lm / tiny-lm-chat not in models/";
  const Trained& t = trained();
  CrosscoderDiffOptions o;
  o.start_positions = t.start;
  const CrosscoderDiff d = crosscoder_diff(*t.base, *t.tuned, t.crosscoder, t.heldout, o);
  std::printf("%s\n", d.to_json().dump(1).c_str());
  EXPECT_EQ(d.base_hook, "blocks.0.hook_resid_post");
  EXPECT_EQ(d.positions_start, int64_t(t.heldout.size()) * t.start);
  int64_t hist = 0;
  for (int64_t c : d.relative_norm_histogram) hist += c;
  EXPECT_EQ(hist, d.base_only.latents + d.shared.latents + d.tuned_only.latents);
  for (const auto& l : d.top_tuned_only) EXPECT_GT(l.relative_norm, o.exclusive);
  for (const auto& l : d.top_base_only) EXPECT_LT(l.relative_norm, 1 - o.exclusive);
  ASSERT_FALSE(d.top_start.empty());
  EXPECT_GT(d.top_start[0].mean_start, d.top_start[0].mean_rest);
  // The ground truth: the change lives at the response start, so what fires
  // there is more specific to one model than what fires after it (measured
  // 0.120 against 0.071). No latent passes the 0.9 exclusivity cut on this
  // small organism (relative norms 0.25-0.65): the two models' blocks.0
  // residuals are one space, tilted, not two.
  EXPECT_GT(d.exclusivity_start, 1.3 * d.exclusivity_rest);
  EXPECT_LT(d.cosine_start, d.cosine_rest);
}

TEST(CrosscoderDiff, RejectsWhatItCannotRead) {
  if (!shipped("tiny-lm") || !shipped("tiny-lm-chat")) GTEST_SKIP() << "tiny-lm / tiny-lm-chat not in models/";
  const Model base = Model::load(zoo::models_dir() + "/tiny-lm"), tuned = Model::load(zoo::models_dir() + "/tiny-lm-chat");
  SaeConfig c;
  c.arch = SaeArch::TopK;
  c.d_in = base.config().d_model;
  c.d_sae = 8;
  c.k = 2;
  c.hook_name = "blocks.0.hook_resid_post";
  const Sae one = Sae::init(c, 0);
  const std::vector<analysis::DiffPrompt> p = {{{1, 2, 3, 4}, 2}};
  gbtest::expect_error([&] { crosscoder_diff(base, tuned, one, p); }, {"two sources"});
  c.n_sources = 2;
  c.source_names = {"tiny-lm/blocks.0.hook_resid_post", "tiny-lm-chat/blocks.9.hook_resid_post"};
  const Sae bad_layer = Sae::init(c, 0);
  gbtest::expect_error([&] { crosscoder_diff(base, tuned, bad_layer, p); }, {"blocks.9.hook_resid_post"});
  c.source_names[1] = "tiny-lm-chat/blocks.0.hook_mlp_out";
  const Sae ok = Sae::init(c, 0);
  gbtest::expect_error([&] { crosscoder_diff(base, tuned, ok, {{{1, 2, 3}, 3}}); }, {"response_from"});
}
