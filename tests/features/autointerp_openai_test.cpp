// The chat-completions explainer and simulator against a server on the
// loopback address started here: it checks every request against the
// chat-completions schema and answers from what the prompt shows (the
// explainer's most active token; the simulator's tokens that the explanation
// names), or, selected by the request's model name, with a broken answer.
#include <gtest/gtest.h>

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>

#include "glassbox/error.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/openai_client.h"

namespace glassbox::features {
namespace {

using nlohmann::json;

// What is wrong with a request body, or "" if it follows the schema.
std::string schema_violation(const httplib::Request& req) {
  if (req.get_header_value("Authorization") != "Bearer sk-test") return "no bearer token";
  if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) return "content type";
  const json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "body is not a JSON object";
  if (!j.contains("model") || !j["model"].is_string() || j["model"].get<std::string>().empty()) return "model";
  if (!j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) return "messages";
  for (const auto& m : j["messages"]) {
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["content"].is_string()) return "message";
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant") return "role " + role;
  }
  if (j.contains("temperature") && (!j["temperature"].is_number() || j["temperature"].get<double>() < 0 ||
                                    j["temperature"].get<double>() > 2))
    return "temperature";
  if (j.contains("response_format") && (!j["response_format"].is_object() || !j["response_format"].contains("type")))
    return "response_format";
  for (const auto& [k, v] : j.items())
    if (k != "model" && k != "messages" && k != "temperature" && k != "response_format" && k != "max_tokens")
      return "unexpected field " + k;
  return "";
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// The explainer's answer: the token shown with activation 10.
std::string explain_reply(const std::string& user) {
  std::istringstream in(user);
  for (std::string line; std::getline(in, line);)
    if (line.size() > 3 && line.substr(line.size() - 3) == "\t10") return "the word " + trim(line.substr(0, line.size() - 3));
  return "nothing";
}

// The simulator's answer: 10 where a token is the word the explanation names.
json simulate_reply(const std::string& user) {
  const std::string key = "does is find the word ";
  const size_t at = user.find(key);
  const std::string word = at == std::string::npos ? "" : trim(user.substr(at + key.size(), user.find('\n', at) - at - key.size()));
  json acts = json::array();
  std::istringstream in(user);
  for (std::string line; std::getline(in, line);) {
    if (line == "<start>") acts.push_back(json::array());
    const size_t tab = line.find('\t');
    if (tab != std::string::npos && !acts.empty()) acts.back().push_back(trim(line.substr(0, tab)) == word ? 10 : 0);
  }
  return acts;
}

json completion(const std::string& content) {
  return {{"id", "chatcmpl-1"},
          {"object", "chat.completion"},
          {"created", 0},
          {"model", "fake"},
          {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}}},
          {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 1}, {"total_tokens", 2}}}};
}

class FakeServer {
 public:
  FakeServer() {
    srv_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = srv_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { srv_.listen_after_bind(); });
    while (!srv_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeServer() {
    srv_.stop();
    thread_.join();
  }
  ChatEndpoint endpoint(const std::string& model, double timeout_s = 5) const {
    ChatEndpoint ep;
    ep.url = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
    ep.api_key = "sk-test";
    ep.model = model;
    ep.timeout_s = timeout_s;
    return ep;
  }
  int port() const { return port_; }
  int requests() const { return requests_; }
  std::vector<std::string> violations() const {
    std::lock_guard<std::mutex> g(mu_);
    return violations_;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    ++requests_;
    if (const std::string v = schema_violation(req); !v.empty()) {
      std::lock_guard<std::mutex> g(mu_);
      violations_.push_back(v);
      res.status = 400;
      res.set_content(json{{"error", {{"message", v}}}}.dump(), "application/json");
      return;
    }
    const json body = json::parse(req.body);
    const std::string model = body["model"], system = body["messages"][0]["content"], user = body["messages"][1]["content"];
    const bool explainer = system.find("summarize") != std::string::npos;
    std::string content = explainer ? json{{"explanation", explain_reply(user)}}.dump()
                                    : json{{"activations", simulate_reply(user)}}.dump();
    if (model == "http-500") {
      res.status = 500;
      res.set_content(R"({"error": {"message": "model overloaded"}})", "application/json");
      return;
    }
    if (model == "slow") std::this_thread::sleep_for(std::chrono::milliseconds(800));
    if (model == "no-choices") return res.set_content(R"({"object": "chat.completion"})", "application/json");
    if (model == "not-json") content = "The neuron finds rivers.";
    if (model == "fenced") content = "```json\n" + content + "\n```";
    if (model == "wrong-length") content = R"({"activations": [[0]]})";
    if (model == "out-of-range") {
      json a = simulate_reply(user);
      a[0][0] = 11;
      content = json{{"activations", a}}.dump();
    }
    res.set_content(completion(content).dump(), "application/json");
  }

  httplib::Server srv_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<std::string> violations_;
};

// Latents 0..3, latent f firing on words[f] in contexts of the other words.
std::vector<FeatureExamples> word_latents() {
  const std::vector<std::string> words = {"apple", "river", "stone", "cloud", "house", "bread"};
  std::vector<FeatureExamples> out;
  for (size_t f = 0; f < 4; ++f) {
    std::vector<std::string> others = words;
    others.erase(others.begin() + std::ptrdiff_t(f));
    FeatureExamples ex;
    ex.feature = int64_t(f);
    for (size_t i = 0; i < 8; ++i) {
      ex.top.push_back({{others[i % 5], words[f], others[(i + 2) % 5]}, {0, 1.f - 0.05f * float(i), 0}});
      ex.random.push_back({{others[(i + 1) % 5], others[(i + 3) % 5]}, {0, 0}});
    }
    out.push_back(ex);
  }
  return out;
}

TEST(ChatEndpointHttp, ExplainsAndSimulatesThroughTheEndpoint) {
  FakeServer server;
  const std::vector<FeatureExamples> ex = word_latents();
  const ChatExplainer explainer(server.endpoint("fake-model"));
  const ChatSimulator simulator(server.endpoint("fake-model"));
  const Explanation e = explainer.explain(ex[1]);
  EXPECT_EQ(e.text, "the word river");
  EXPECT_EQ(e.explainer, "llm:fake-model");
  const Scores s = score(e, ex[1], simulator);
  EXPECT_GT(s.simulation, 0.9);
  EXPECT_GT(s.detection_auroc, 0.9);
  const AutointerpReport r = autointerp(ex, explainer, simulator, 3);
  const json sum = r.summary();
  EXPECT_GT(sum["simulation"]["explained"]["mean"].get<double>(), sum["simulation"]["control"]["mean"].get<double>() + 0.5)
      << sum.dump();
  EXPECT_EQ(server.requests(), 2 + 4 + 4 * 2);  // explain + score, then 4 explanations and 8 simulations
  EXPECT_TRUE(server.violations().empty()) << server.violations()[0];
  // The free-text explanation scores the same through the built-in simulator.
  EXPECT_GT(score(e, ex[1]).simulation, 0.9);
  // A fenced JSON reply is accepted.
  EXPECT_EQ(ChatExplainer(server.endpoint("fenced")).explain(ex[2]).text, "the word stone");
}

TEST(ChatEndpointHttp, BadRepliesAreErrorsThatSayWhatWasWrong) {
  FakeServer server;
  const std::vector<FeatureExamples> ex = word_latents();
  Explanation e;
  e.text = "the word river";
  auto error_of = [&](const std::string& model, bool explain, double timeout_s = 5) -> std::string {
    try {
      if (explain) ChatExplainer(server.endpoint(model, timeout_s)).explain(ex[1]);
      else score(e, ex[1], ChatSimulator(server.endpoint(model, timeout_s)));
    } catch (const Error& x) {
      return x.what();
    }
    return "no error";
  };
  EXPECT_NE(error_of("http-500", true).find("HTTP 500: model overloaded"), std::string::npos);
  EXPECT_NE(error_of("not-json", true).find("not a JSON object: The neuron finds rivers."), std::string::npos);
  EXPECT_NE(error_of("no-choices", true).find("no choices[0].message.content"), std::string::npos);
  EXPECT_NE(error_of("wrong-length", false).find("one list per text"), std::string::npos);
  EXPECT_NE(error_of("out-of-range", false).find("activation 11 is not a number from 0 to 10"), std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_NE(error_of("slow", true, 0.2).find("no complete response within"), std::string::npos);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.7);
  ChatEndpoint wrong_key = server.endpoint("fake-model");
  wrong_key.api_key = "sk-other";
  try {
    ChatExplainer(wrong_key).explain(ex[1]);
    ADD_FAILURE() << "no error";
  } catch (const Error& x) {
    EXPECT_NE(std::string(x.what()).find("HTTP 400: no bearer token"), std::string::npos) << x.what();
  }
}

TEST(ChatEndpointHttp, UnreachableServerAndBadSettingsAreErrors) {
  int port = 0;
  { FakeServer gone; port = gone.port(); }
  ChatEndpoint ep;
  ep.url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  ep.model = "m";
  ep.timeout_s = 1;
  try {
    chat_completion(ep, json::array({{{"role", "user"}, {"content", "hi"}}}));
    ADD_FAILURE() << "no error";
  } catch (const Error& x) {
    EXPECT_NE(std::string(x.what()).find(ep.url + "/chat/completions: cannot connect"), std::string::npos) << x.what();
  }
  EXPECT_THROW(chat_endpoint("ftp://x/v1", "m"), Error);
  EXPECT_THROW(chat_endpoint("http://127.0.0.1:1/v1", ""), Error);
  ::unsetenv("GLASSBOX_TEST_NO_SUCH_KEY");
  try {
    chat_endpoint("http://127.0.0.1:1/v1", "m", "GLASSBOX_TEST_NO_SUCH_KEY");
    ADD_FAILURE() << "no error";
  } catch (const Error& x) {
    EXPECT_NE(std::string(x.what()).find("GLASSBOX_TEST_NO_SUCH_KEY"), std::string::npos) << x.what();
  }
  ::setenv("GLASSBOX_TEST_KEY", "sk-1", 1);
  EXPECT_EQ(chat_endpoint("http://127.0.0.1:1/v1", "m", "GLASSBOX_TEST_KEY").api_key, "sk-1");
}

TEST(ChatPrompts, ShowActivationsOnTheZeroToTenScale) {
  const std::vector<FeatureExamples> ex = word_latents();
  const json m = explainer_messages(split_examples(ex[1]).train, 10);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0]["role"], "system");
  const std::string user = m[1]["content"];
  EXPECT_NE(user.find("river\t10\n"), std::string::npos) << user;
  EXPECT_NE(user.find("<start>\n"), std::string::npos);
  EXPECT_EQ(parse_json_reply("```json\n{\"a\": 1}\n```", "x")["a"], 1);
  EXPECT_THROW(parse_json_reply("[1, 2]", "x"), Error);
  EXPECT_THROW(parse_json_reply("```json\n{\"a\": 1}", "x"), Error);
}

}  // namespace
}  // namespace glassbox::features
