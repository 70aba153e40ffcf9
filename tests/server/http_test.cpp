// `glassbox serve` over HTTP: every route, streaming as OpenAI sends it, bad
// requests answered 4xx in OpenAI's error shape while the server goes on
// serving, the API key, the limits, and concurrent requests with different
// profiles each getting exactly what they get alone.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "server_fixture.h"

using namespace glassbox::server;
using nlohmann::json;
using server_test::RunningServer;

namespace {

json post(httplib::Client& c, const std::string& path, const json& body, int* status = nullptr) {
  const auto res = c.Post(path, body.dump(), "application/json");
  if (!res) {
    ADD_FAILURE() << "no response from " << path << ": " << httplib::to_string(res.error());
    return nullptr;
  }
  if (status) *status = res->status;
  return json::parse(res->body);
}

// status, and that the body is OpenAI's error object.
void expect_error(const httplib::Result& res, int status, const std::string& param = "") {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status) << res->body;
  const json j = json::parse(res->body);
  ASSERT_TRUE(j.contains("error")) << res->body;
  for (const char* k : {"message", "type", "param", "code"}) EXPECT_TRUE(j["error"].contains(k)) << k;
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
  if (!param.empty()) {
    EXPECT_EQ(j["error"]["param"], param) << res->body;
  }
}

void expect_still_serving(httplib::Client& c) {
  const auto res = c.Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

json completion_body(const std::string& prompt, int max_tokens, const json& profile = nullptr) {
  json b = {{"model", "tiny-lm-chat"}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0.9},
            {"seed", 3}};
  if (!profile.is_null()) b["glassbox"] = {{"profile", profile}};
  return b;
}

}  // namespace

TEST(ServerHttp, ModelsCompletionsChatAndAnalysis) {
  RunningServer s(server_test::context());
  httplib::Client c = s.client();
  const auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ(models->status, 200);
  EXPECT_EQ(models->get_header_value("Content-Type"), "application/json");
  const json m = json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "tiny-lm-chat");

  int status = 0;
  const json comp = post(c, "/v1/completions", completion_body("The old man said", 8), &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(comp["object"], "text_completion");
  EXPECT_EQ(comp["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_TRUE(comp["choices"][0]["text"].is_string());
  // The same request straight through the API function.
  EXPECT_EQ(comp["choices"], complete(server_test::context(), completion_body("The old man said", 8),
                                      Endpoint::Completions, "x", 0)["choices"]);

  const json chat = post(c, "/v1/chat/completions",
                         {{"model", "tiny-lm-chat"},
                          {"messages", {{{"role", "user"}, {"content", "Tell me about the sea"}}}},
                          {"max_tokens", 6},
                          {"temperature", 0}},
                         &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(chat["object"], "chat.completion");
  EXPECT_EQ(chat["choices"][0]["message"]["content"].get<std::string>().rfind("Indeed", 0), 0u) << chat.dump();

  const json lens = post(c, "/v1/glassbox/lens", {{"prompt", "The old man"}}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(lens["layers"].size(), size_t(server_test::chat_model().config().n_layers + 1));
  const json dla = post(c, "/v1/glassbox/dla", {{"prompt", "The old man"}, {"answer", " said"}}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_TRUE(dla.contains("by_layer"));
  const json cache = post(c, "/v1/glassbox/cache", {{"prompt", "The old man"}, {"hooks", {"blocks.0.hook_resid_post"}}}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(cache["tensors"][0]["shape"], json({1, 3, server_test::chat_model().config().d_model}));
  const json patch = post(c, "/v1/glassbox/patch",
                          {{"clean", "The old man said"}, {"corrupt", "The old dog said"}, {"answer", " the"},
                           {"metric", "logit"}, {"sites", {"resid_pre"}}},
                          &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(patch["grids"].size(), 1u);

  const auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST(ServerHttp, StreamingIsOpenAIsEventStream) {
  RunningServer s(server_test::context());
  httplib::Client c = s.client();
  for (const bool chat : {false, true}) {
    json body = completion_body("The old man said", 12, server_test::steer_profile());
    if (chat) {
      body.erase("prompt");
      body["messages"] = {{{"role", "user"}, {"content", "The old man said"}}};
    }
    const std::string path = chat ? "/v1/chat/completions" : "/v1/completions";
    const json whole = post(c, path, body);
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
    const auto res = c.Post(path, body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
    const std::vector<std::string> events = server_test::sse_events(res->body);
    ASSERT_GE(events.size(), 4u) << res->body;
    EXPECT_EQ(events.back(), "[DONE]");
    std::string text;
    json final_chunk, usage;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
      const json e = json::parse(events[i]);  // every event is whole JSON
      EXPECT_EQ(e["object"], chat ? "chat.completion.chunk" : "text_completion");
      EXPECT_EQ(e["id"], events.size() > 1 ? json::parse(events[0])["id"] : json());
      if (e["choices"].empty()) {
        usage = e["usage"];
        continue;
      }
      const json& ch = e["choices"][0];
      if (!ch["finish_reason"].is_null()) {
        final_chunk = e;
        continue;
      }
      if (chat && i == 0) {
        EXPECT_EQ(ch["delta"]["role"], "assistant");
      }
      text += chat ? ch["delta"]["content"].get<std::string>() : ch["text"].get<std::string>();
    }
    // The deltas make the same text as the whole response (same seed).
    EXPECT_EQ(text, chat ? whole["choices"][0]["message"]["content"] : whole["choices"][0]["text"]);
    ASSERT_FALSE(final_chunk.is_null());
    EXPECT_EQ(final_chunk["choices"][0]["finish_reason"], whole["choices"][0]["finish_reason"]);
    EXPECT_EQ(final_chunk["glassbox"]["monitors"], whole["glassbox"]["monitors"]);
    EXPECT_FALSE(final_chunk["glassbox"]["monitors"].empty());
    EXPECT_EQ(usage, whole["usage"]);
  }
}

TEST(ServerHttp, BadRequestsGet4xxAndTheServerGoesOn) {
  ServerOptions o;
  o.max_body_bytes = 4096;
  Limits l;
  l.max_prompt_tokens = 16;
  RunningServer s(server_test::context(l), o);
  httplib::Client c = s.client();
  expect_error(c.Post("/v1/completions", "{\"prompt\": ", "application/json"), 400);
  expect_still_serving(c);
  expect_error(c.Post("/v1/completions", "", "application/json"), 400);
  expect_error(c.Post("/v1/completions", "[1, 2]", "application/json"), 400);
  expect_error(c.Post("/v1/completions", std::string(200, '[') + std::string(200, ']'), "application/json"), 400);
  expect_error(c.Post("/v1/completions", completion_body("x", 4).dump() + "garbage", "application/json"), 400);
  json b = completion_body("x", 4);
  b["n"] = 3;
  expect_error(c.Post("/v1/completions", b.dump(), "application/json"), 400, "n");
  expect_error(c.Post("/v1/completions", completion_body(std::string(300, 'a') + " b c d e f g h i j k l m n o p q r s", 4).dump(),
                      "application/json"),
               400, "prompt");
  const int64_t d = server_test::chat_model().config().d_model;
  expect_error(c.Post("/v1/completions",
                      completion_body("x", 4, {{"interventions", {{{"type", "add_vector"}, {"hook", "blocks.0.hook_resid_post"},
                                                                   {"vector", server_test::vec(d + 1, 1)}}}}})
                          .dump(),
                      "application/json"),
               400, "glassbox.profile.interventions[0].vector");
  expect_error(c.Post("/v1/glassbox/cache", json({{"prompt", "x"}, {"names", {"blocks.0.hook_banana"}}}).dump(),
                      "application/json"),
               400, "names[0]");
  expect_error(c.Post("/v1/glassbox/dla", json({{"prompt", "x"}}).dump(), "application/json"), 400, "answer");
  expect_error(c.Post("/v1/completions", std::string(5000, ' ') + "{}", "application/json"), 413, "body");
  expect_error(c.Get("/v1/nothing"), 404);
  expect_error(c.Post("/v1/completions", std::string("{\"prompt\": \"\xff\xfe\"}"), "application/json"), 400);
  expect_still_serving(c);
  // A stream that ends early (a monitor stops it) is still well formed.
  json stop = completion_body("x", 4, {{"monitors", {{{"type", "entropy"}, {"threshold", 0.0}, {"action", "stop"}}}}});
  stop["stream"] = true;
  const auto res = c.Post("/v1/completions", stop.dump(), "application/json");
  ASSERT_TRUE(res);
  const auto events = server_test::sse_events(res->body);
  ASSERT_EQ(events.size(), 2u) << res->body;
  EXPECT_EQ(json::parse(events[0])["choices"][0]["finish_reason"], "content_filter");
  expect_still_serving(c);
}

TEST(ServerHttp, ApiKey) {
  ServerOptions o;
  o.api_key = "sekrit-key";
  RunningServer s(server_test::context(), o);
  httplib::Client none = s.client(), wrong = s.client("sekrit-kez"), right = s.client("sekrit-key");
  expect_error(none.Get("/v1/models"), 401);
  expect_error(wrong.Post("/v1/completions", completion_body("x", 2).dump(), "application/json"), 401);
  const auto res = right.Post("/v1/completions", completion_body("x", 2).dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const auto page = none.Get("/");  // the page itself is not secret; what it calls is
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST(ServerHttp, MoreThanMaxConcurrentGet429) {
  ServerOptions o;
  o.max_concurrent = 1;
  RunningServer s(server_test::context(), o);
  // 12 requests of 100 tokens each started together on one slot: some must be
  // refused. (Rounds repeat in case a loaded machine ran them one by one.)
  int refused = 0, served = 0;
  for (int round = 0; round < 5 && refused == 0; ++round) {
    constexpr int n = 12;
    std::barrier start(n);
    std::vector<int> status(n, 0);
    std::vector<std::thread> ts;
    for (int i = 0; i < n; ++i)
      ts.emplace_back([&, i] {
        httplib::Client c = s.client();
        start.arrive_and_wait();
        const auto res = c.Post("/v1/completions", completion_body("The old man said", 100).dump(), "application/json");
        if (!res) return;
        status[size_t(i)] = res->status;
        if (res->status == 429) {
          const json j = json::parse(res->body);
          EXPECT_EQ(j["error"]["code"], "rate_limit_exceeded");
          EXPECT_EQ(res->get_header_value("Retry-After"), "1");
        }
      });
    for (auto& t : ts) t.join();
    for (int st : status) {
      EXPECT_TRUE(st == 200 || st == 429) << st;
      refused += st == 429;
      served += st == 200;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(served, 0);
  httplib::Client c = s.client();
  expect_still_serving(c);
}

TEST(ServerHttp, ConcurrentRequestsWithDifferentProfilesGetWhatTheyGetAlone) {
  ServerOptions o;
  o.max_concurrent = 8;
  RunningServer s(server_test::context(), o);
  const std::vector<std::string> prompts = {"The old man said", "A ship", "In the morning the"};
  const std::vector<json> profiles = {nullptr, server_test::steer_profile()};
  // Alone, one at a time.
  httplib::Client c0 = s.client();
  std::vector<json> alone;
  for (const auto& p : prompts)
    for (const auto& prof : profiles) alone.push_back(post(c0, "/v1/completions", completion_body(p, 16, prof)));
  ASSERT_NE(alone[0]["glassbox"]["tokens"], alone[1]["glassbox"]["tokens"]);  // the profile steers

  // 8 threads x 6 requests, each thread going through the combinations in its own order.
  constexpr int n_threads = 8, per_thread = 6;
  std::atomic<int> mismatches{0}, failures{0};
  std::barrier start(n_threads);
  std::vector<std::thread> ts;
  for (int t = 0; t < n_threads; ++t)
    ts.emplace_back([&, t] {
      httplib::Client c = s.client();
      start.arrive_and_wait();
      for (int k = 0; k < per_thread; ++k) {
        const size_t i = size_t((t + k * 5) % int(alone.size()));
        const json body = completion_body(prompts[i / 2], 16, profiles[i % 2]);
        const auto res = c.Post("/v1/completions", body.dump(), "application/json");
        if (!res || res->status != 200) {
          ++failures;
          continue;
        }
        const json r = json::parse(res->body);
        if (r["choices"] != alone[i]["choices"] || r["glassbox"] != alone[i]["glassbox"]) ++mismatches;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ServerHttp, AClientLeavingMidStreamStopsItsGenerationOnly) {
  ServerOptions o;
  o.max_concurrent = 1;  // the slot must come back when the stream is abandoned
  RunningServer s(server_test::context(), o);
  httplib::Client c = s.client();
  json body = completion_body("The old man said", 100);
  body["stream"] = true;
  int chunks = 0;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 2; };  // hang up
  const auto res = c.send(req);
  EXPECT_FALSE(res);  // cancelled by the receiver
  EXPECT_GE(chunks, 1);
  // The server answers the next request on its one slot (retrying while the
  // abandoned generation notices the closed socket).
  httplib::Client c2 = s.client();
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    const auto r = c2.Post("/v1/completions", completion_body("A ship", 4).dump(), "application/json");
    ASSERT_TRUE(r);
    status = r->status;
    if (status == 429) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(status, 200);
}
