// The server's request -> result functions without HTTP: generation as the
// library does it, the chat template, profiles, errors naming the field, and
// the analysis endpoints answering what the library computes.
#include <gtest/gtest.h>

#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "server/text_stream.h"
#include "server_fixture.h"

using namespace glassbox;
using namespace glassbox::server;
using nlohmann::json;
using server_test::chat_model;
using server_test::context;

namespace {

// The message of the Error that f throws (the test fails when none is thrown).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

json completion(const ServerContext& ctx, json body) {
  body["model"] = "tiny-lm-chat";
  return complete(ctx, body, Endpoint::Completions, "cmpl-test", 0);
}

}  // namespace

TEST(ServerApi, CompletionIsTheLibrarysGreedyGeneration) {
  const ServerContext ctx = context();
  const Model& m = chat_model();
  const std::string prompt = "The old man said";
  const json r = completion(ctx, {{"prompt", prompt}, {"max_tokens", 12}, {"temperature", 0}});
  // The same generation through the library.
  SamplingOptions o;
  o.max_new_tokens = 12;
  o.temperature = 0;
  o.stop_tokens = {m.tokenizer()->eos_id()};
  Engine e(m);
  std::vector<int32_t> want = generate(e, {m.tokenizer()->encode(prompt)}, o).tokens[0];
  EXPECT_EQ(r["glassbox"]["tokens"].get<std::vector<int32_t>>(), want);
  if (!want.empty() && want.back() == m.tokenizer()->eos_id()) want.pop_back();
  EXPECT_EQ(r["choices"][0]["text"], m.tokenizer()->decode(want));
  EXPECT_EQ(r["object"], "text_completion");
  EXPECT_EQ(r["usage"]["prompt_tokens"], m.tokenizer()->encode(prompt).size());
  EXPECT_EQ(r["usage"]["completion_tokens"], r["glassbox"]["tokens"].size());
  EXPECT_TRUE(r["choices"][0]["finish_reason"] == "length" || r["choices"][0]["finish_reason"] == "stop");
}

TEST(ServerApi, TokenIdPromptAndSeededSamplingAreReproducible) {
  const ServerContext ctx = context();
  const json body = {{"prompt", {11, 42, 7}}, {"max_tokens", 10}, {"temperature", 1.0}, {"seed", 5}};
  const json a = completion(ctx, body), b = completion(ctx, body);
  EXPECT_EQ(a["glassbox"]["tokens"], b["glassbox"]["tokens"]);
  json other = body;
  other["seed"] = 6;
  // Another seed samples differently (10 tokens at temperature 1 over 2048).
  EXPECT_NE(completion(ctx, other)["glassbox"]["tokens"], a["glassbox"]["tokens"]);
}

TEST(ServerApi, ChatUsesTheOrganismsTemplate) {
  // tiny-lm-chat answers "User: ...\nAssistant:" with " Indeed, friend!": the
  // reply shows whether the template is the one it was trained on.
  const ServerContext ctx = context();
  const json r = complete(ctx,
                          {{"model", "tiny-lm-chat"},
                           {"messages", {{{"role", "user"}, {"content", "What does the old sailor say about the sea"}}}},
                           {"max_tokens", 8},
                           {"temperature", 0}},
                          Endpoint::Chat, "chatcmpl-test", 0);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  const std::string content = r["choices"][0]["message"]["content"];
  EXPECT_EQ(content.rfind("Indeed, friend!", 0), 0u) << content;
}

TEST(ServerApi, StopSequencesCutTheText) {
  const ServerContext ctx = context();
  const json free = completion(ctx, {{"prompt", "The old man said"}, {"max_tokens", 20}, {"temperature", 0}});
  const std::string text = free["choices"][0]["text"];
  ASSERT_GE(text.size(), 6u);
  const std::string stop = text.substr(3, 2);  // occurs in the greedy text
  const json cut = completion(ctx, {{"prompt", "The old man said"}, {"max_tokens", 20}, {"temperature", 0}, {"stop", stop}});
  EXPECT_EQ(cut["choices"][0]["text"], text.substr(0, text.find(stop)));
  EXPECT_EQ(cut["choices"][0]["finish_reason"], "stop");
}

TEST(ServerApi, ProfilesSteerAndMonitor) {
  const ServerContext ctx = context();
  const json plain = completion(ctx, {{"prompt", "The old man said"}, {"max_tokens", 10}, {"temperature", 0}});
  const json steered = completion(ctx, {{"prompt", "The old man said"},
                                        {"max_tokens", 10},
                                        {"temperature", 0},
                                        {"glassbox", {{"profile", server_test::steer_profile()}}}});
  EXPECT_NE(plain["glassbox"]["tokens"], steered["glassbox"]["tokens"]);
  EXPECT_TRUE(plain["glassbox"]["monitors"].empty());
  // The entropy monitor (threshold 0) flags every generated token.
  ASSERT_EQ(steered["glassbox"]["monitors"].size(), steered["glassbox"]["tokens"].size());
  EXPECT_EQ(steered["glassbox"]["monitors"][0]["name"], "any");

  // A stop action ends the reply before the token it flagged: content_filter.
  const json stop_profile = {{"monitors", {{{"type", "entropy"}, {"threshold", 0.0}, {"action", "stop"}}}}};
  const json stopped = completion(ctx, {{"prompt", "The old man said"},
                                        {"max_tokens", 10},
                                        {"glassbox", {{"profile", stop_profile}}}});
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "content_filter");
  EXPECT_TRUE(stopped["glassbox"]["tokens"].empty());
}

TEST(ServerApi, NamedProfiles) {
  ServerContext ctx = context();
  ctx.profiles["steer"] = steering::Profile::from_json(server_test::steer_profile());
  const json inline_r = completion(ctx, {{"prompt", "The old man said"}, {"max_tokens", 6}, {"temperature", 0},
                                         {"glassbox", {{"profile", server_test::steer_profile()}}}});
  const json named_r = completion(ctx, {{"prompt", "The old man said"}, {"max_tokens", 6}, {"temperature", 0},
                                        {"glassbox", {{"profile", "steer"}}}});
  EXPECT_EQ(inline_r["glassbox"]["tokens"], named_r["glassbox"]["tokens"]);
  EXPECT_EQ(named_r["glassbox"]["profile"], "steer");
  EXPECT_NE(error_of([&] { completion(ctx, {{"prompt", "a"}, {"glassbox", {{"profile", "nope"}}}}); })
                .find("glassbox.profile: no profile named \"nope\""),
            std::string::npos);
}

TEST(ServerApi, ErrorsNameTheField) {
  ServerContext ctx = context();
  ctx.limits.max_prompt_tokens = 8;
  ctx.limits.max_tokens = 50;
  const int64_t d = chat_model().config().d_model;
  struct Case {
    json body;
    std::string starts;
  };
  auto with_profile = [](const json& profile) {
    json b = {{"prompt", "x"}};
    b["glassbox"] = {{"profile", profile}};
    return b;
  };
  auto add_vector = [](const std::string& hook, const std::vector<float>& v) {
    json iv = {{"type", "add_vector"}, {"hook", hook}};
    iv["vector"] = v;
    json p = json::object();
    p["interventions"] = json::array({iv});
    return p;
  };
  const std::vector<Case> cases = {
      {json::parse(R"({"prompt": "x", "n": 2})"), "n: "},
      {json::parse(R"({"prompt": "x", "max_tokens": 51})"), "max_tokens: 51 is out of range"},
      {json::parse(R"({"prompt": "x", "max_tokens": "ten"})"), "max_tokens: expected an integer"},
      {json::parse(R"({"prompt": "x", "temperature": 3})"), "temperature: "},
      {json::parse(R"({"prompt": "x", "top_p": 0})"), "top_p: "},
      {json::parse(R"({"prompt": "one two three four five six seven eight nine ten"})"), "prompt: "},
      {json::parse(R"({"prompt": [1, 2, 99999]})"), "prompt[2]: "},
      {json::parse(R"({"prompt": ["a", "b"]})"), "prompt: a batch of 2 prompts"},
      {json::parse(R"({"prompt": "x", "frequency_penalty": 0.5})"), "frequency_penalty: not supported"},
      {json::parse(R"({"prompt": "x", "bogus": 1})"), "bogus: not supported"},
      {json::parse(R"({"max_tokens": 3})"), "prompt: missing"},
      {json::parse(R"({"prompt": "x", "stop": ["a", ""]})"), "stop[1]: "},
      {json::parse(R"({"prompt": "x", "glassbox": {"profil": "a"}})"), "glassbox.profil: unknown field"},
      {with_profile(add_vector("blocks.1.hook_resid_post", server_test::vec(d / 2, 1))),
       "glassbox.profile.interventions[0].vector: 64 values"},
      {with_profile(add_vector("blocks.9.hook_nope", server_test::vec(d, 1))), "glassbox.profile.interventions[0].hook: "},
      {with_profile(json::parse(
           R"({"interventions": [{"type": "patch", "hook": "blocks.0.hook_resid_post", "source": "/etc/passwd"}]})")),
       "glassbox.profile.interventions[0].source: a profile sent in a request cannot name files"},
  };
  for (const Case& c : cases) {
    const std::string msg = error_of([&] { completion(ctx, c.body); });
    EXPECT_EQ(msg.rfind(c.starts, 0), 0u) << "body " << c.body.dump().substr(0, 200) << "\ngot: " << msg;
  }
  const json wrong_model = json::parse(R"({"prompt": "x", "model": "gpt-4"})");
  EXPECT_EQ(error_of([&] { complete(ctx, wrong_model, Endpoint::Completions, "", 0); }).rfind("model: ", 0), 0u);
  const json robot = json::parse(R"({"messages": [{"role": "robot", "content": "x"}]})");
  EXPECT_EQ(error_of([&] { complete(ctx, robot, Endpoint::Chat, "", 0); }).rfind("messages[0].role: ", 0), 0u);
}

TEST(ServerApi, TimeoutStopsTheGeneration) {
  Limits l;
  l.request_timeout_s = 1e-9;  // already over after the prompt's pass
  const json r = completion(context(l), {{"prompt", "The old man said"}, {"max_tokens", 30}, {"temperature", 0}});
  EXPECT_EQ(r["choices"][0]["finish_reason"], "timeout");
  EXPECT_LE(r["glassbox"]["tokens"].size(), 1u);
}

TEST(ServerApi, LogprobsAreTheModels) {
  const ServerContext ctx = context();
  const json r = completion(ctx, {{"prompt", "The old man said"}, {"max_tokens", 4}, {"temperature", 0}, {"logprobs", 3}});
  const json& lp = r["choices"][0]["logprobs"];
  ASSERT_EQ(lp["token_logprobs"].size(), r["glassbox"]["tokens"].size());
  for (size_t i = 0; i < lp["token_logprobs"].size(); ++i) {
    EXPECT_LE(lp["token_logprobs"][i].get<double>(), 1e-6);
    // Greedy: the chosen token is the most probable one.
    double best = -1e30;
    for (const auto& [tok, l] : lp["top_logprobs"][i].items()) best = std::max(best, l.get<double>());
    EXPECT_NEAR(lp["token_logprobs"][i].get<double>(), best, 1e-5);
    EXPECT_EQ(lp["top_logprobs"][i].size(), 3u);
  }
}

TEST(ServerApi, TextStreamDeltasConcatenateToTheText) {
  const Tokenizer& tok = *chat_model().tokenizer();
  const std::vector<int32_t> ids = tok.encode(" Indeed, friend! The sea is deep and wide.", false);
  TextStream s(&tok, {"deep and"}, true);
  std::string streamed;
  for (int32_t t : ids) {
    const std::string d = s.push(t);
    streamed += d;
    // Never a prefix of the stop sequence that may still complete.
    EXPECT_EQ(streamed.find("deep"), std::string::npos) << streamed;
  }
  streamed += s.finish();
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(streamed, "Indeed, friend! The sea is ");
  EXPECT_EQ(s.text(), streamed);
}

TEST(ServerApi, AnalysisEndpointsAnswerTheLibrarysJson) {
  const ServerContext ctx = context();
  const Model& m = chat_model();
  const std::string prompt = "The old man said";
  const std::vector<int32_t> ids = m.tokenizer()->encode(prompt);
  Engine e(m);

  analysis::LogitLensOptions lo;
  lo.top_k = 2;
  lo.targets = {m.tokenizer()->encode(" the", false)[0]};
  json lens = lens_json(ctx, {{"prompt", prompt}, {"top_k", 2}, {"target", " the"}});
  lens.erase("token_strings");
  EXPECT_EQ(lens, analysis::logit_lens(e, Batch::single(ids), lo).to_json());

  analysis::DlaOptions d;
  d.answer = {m.tokenizer()->encode(" the", false)[0]};
  d.wrong = {17};
  EXPECT_EQ(dla_json(ctx, {{"tokens", ids}, {"answer", " the"}, {"wrong", 17}}),
            analysis::direct_logit_attribution(e, Batch::single(ids), d).to_json());

  CacheOptions co;
  co.names = {"blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post"};
  co.positions = {-1};
  const ActivationCache c = run_with_cache(e, Batch::single(ids), co);
  const json cj = cache_json(ctx, {{"prompt", prompt}, {"names", co.names}, {"positions", {-1}}});
  ASSERT_EQ(cj["tensors"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const Tensor& t = c.entries[i].second;
    EXPECT_EQ(cj["tensors"][i]["name"], c.entries[i].first);
    EXPECT_EQ(cj["tensors"][i]["shape"].get<std::vector<int64_t>>(), t.shape);
    EXPECT_EQ(cj["tensors"][i]["data"].get<std::vector<float>>(), std::vector<float>(t.f32(), t.f32() + t.numel()));
  }
  EXPECT_EQ(cj["tokens"].get<std::vector<int32_t>>(), ids);
  EXPECT_EQ(cj["token_strings"].size(), ids.size());
  EXPECT_EQ(error_of([&] { cache_json(ctx, {{"prompt", prompt}, {"names", {"blocks.0.hook_nope"}}}); }).rfind("names[0]: ", 0),
            0u);

  const json p = patch_json(ctx, {{"clean", "The old man said"}, {"corrupt", "The old dog said"}, {"answer", " the"},
                                  {"wrong", " a"}, {"sites", "resid_pre,z"}});
  ASSERT_EQ(p["grids"].size(), 2u);
  EXPECT_EQ(p["grids"][0]["hook"], "hook_resid_pre");
  EXPECT_EQ(p["grids"][1]["axis"], "head");
  EXPECT_EQ(error_of([&] { patch_json(ctx, {{"clean", "The old man said"}, {"corrupt", "A dog"}, {"answer", " the"},
                                            {"wrong", " a"}}); })
                .rfind("corrupt: ", 0),
            0u);
}

TEST(ServerApi, GenerateObserverSeesThePreviousStepsTokens) {
  // What streaming rests on: at step s the observer is told the token each row
  // sampled at step s - 1, and (through generate_with_profile) runs after the monitors.
  const Model& m = chat_model();
  SamplingOptions o;
  o.max_new_tokens = 6;
  o.temperature = 1;
  o.seed = 9;
  const std::vector<std::vector<int32_t>> prompts = {{5, 6, 7}, {8, 9, 10}};
  std::vector<std::vector<int32_t>> seen(2);
  int calls = 0;
  steering::Profile p;
  p.monitors.push_back(steering::Monitor::from_json({{"type", "entropy"}, {"threshold", 0.0}}));
  const steering::MonitoredGeneration g =
      steering::generate_with_profile(m, prompts, o, p, [&](GenerateStep& st) {
        EXPECT_EQ(st.last_tokens == nullptr, st.step == 0);
        if (st.last_tokens)
          for (int64_t b = 0; b < 2; ++b) seen[size_t(b)].push_back(st.last_tokens[b]);
        ++calls;
      });
  EXPECT_EQ(calls, 6);
  for (size_t b = 0; b < 2; ++b) {
    ASSERT_EQ(g.tokens[b].size(), 6u);
    EXPECT_EQ(seen[b], std::vector<int32_t>(g.tokens[b].begin(), g.tokens[b].end() - 1));
  }
}
