// Ground truth: a direction built from tiny-lm-chat's styled responses
// against tiny-lm's plain continuations turns the " Indeed, friend!" style on
// in the base model and off in the chat model, on held-out prompts.
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "glassbox/steering/chat_style.h"
#include "glassbox/steering/sweep.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using namespace glassbox;
using namespace glassbox::steering;

TEST(SteeringChatStyle, Explore) {
  const fs::path dir = zoo::models_dir();
  if (!fs::exists(dir / "tiny-lm-chat" / "model.safetensors") || !fs::exists(dir / "tiny-lm" / "model.safetensors"))
    GTEST_SKIP() << "tiny-lm / tiny-lm-chat not trained";
  const Model base = Model::load((dir / "tiny-lm").string()), chat = Model::load((dir / "tiny-lm-chat").string());
  const ChatStyleData d = chat_style_data(base, 32, 32, 1024);
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  Engine eb(base), ec(chat);
  const auto pairs = completion_pairs(ec, eb, d.train_prompts, 8);
  for (int which = 0; which < 2; ++which) {
    Engine& reader = which == 0 ? eb : ec;
    for (ReadAt ra : {ReadAt::Last, ReadAt::CompletionMean})
      for (Method me : {Method::MeanDiff, Method::PcaDiff}) {
        BuildOptions bo;
        bo.method = me;
        bo.read_at = ra;
        const SteeringVector v = build_from_pairs(reader, pairs, bo);
        for (int target = 0; target < 2; ++target) {
          Engine& e = target == 0 ? eb : ec;
          SweepOptions so;
          const float s = me == Method::PcaDiff ? 4.f : 1.f;
          so.coefficients = target == 0 ? std::vector<float>{s * 2, s * 4} : std::vector<float>{-s * 2, -s * 4};
          so.behaviour.marker = d.marker;
          so.behaviour.prompts = d.heldout_prompts;
          so.benign = d.benign;
          const Sweep sw = steering_sweep(e, v, so);
          std::printf("reader=%s read=%s method=%s target=%s base_eff=%.2f ce=%.3f\n", which ? "chat" : "base",
                      to_string(ra), to_string(me), target ? "chat" : "base", sw.baseline_effect, sw.baseline_ce);
          for (const auto& c : sw.cells)
            std::printf("  L%d c=%.1f eff=%.2f ce=%.3f (%.3f)\n", c.layer, c.coefficient, c.effect, c.ce, c.ce_ratio);
        }
      }
  }
}

#include "glassbox/generate.h"
#include "glassbox/tokenizer.h"
TEST(SteeringChatStyle, Explore2) {
  const fs::path dir = zoo::models_dir();
  const Model base = Model::load((dir / "tiny-lm").string()), chat = Model::load((dir / "tiny-lm-chat").string());
  const ChatStyleData d = chat_style_data(base, 32, 16, 512);
  std::setvbuf(stdout, nullptr, _IONBF, 0);
  Engine eb(base), ec(chat);
  const auto pairs = d.style_pairs;
  const Tokenizer& tok = *base.tokenizer();
  std::printf("pos: %s | neg: %s\n", tok.decode(pairs[0].positive).c_str(), tok.decode(pairs[0].negative).c_str());
  for (ReadAt ra : {ReadAt::CompletionMean, ReadAt::Last}) {
    BuildOptions bo;
    bo.read_at = ra;
    const SteeringVector v = build_from_pairs(ec, pairs, bo);
    for (const auto& l : v.layers) std::printf("L%d norm %.2f sep %.2f\n", l.layer, l.norm(), l.separation);
    for (int layer : {0, 1, 2, 3})
      for (float c : {1.f, 2.f, 4.f, 8.f})
        for (int pos = 0; pos < 1; ++pos) {
          HookRegistry reg(base.config());
          ApplyOptions ao{c, {layer}, pos ? std::vector<int64_t>{-1} : std::vector<int64_t>{}};
          const auto h = attach(reg, steering_interventions(v, ao));
          SamplingOptions so;
          so.max_new_tokens = 8;
          so.temperature = 0;
          const Generation g = generate(eb, d.heldout_prompts, so, &reg);
          int first = 0, full = 0;
          for (const auto& t : g.tokens) {
            const std::string s = tok.decode(t);
            first += s.rfind(" Indeed", 0) == 0;
            full += s.rfind(d.marker, 0) == 0;
          }
          std::printf("%s L%d c=%.1f pos=%s first=%d full=%d | %s\n", to_string(ra), layer, c, pos ? "-1" : "all",
                      first, full, tok.decode(g.tokens[0]).c_str());
        }
  }
}
