// The chat-completions client: one POST per request over cpp-httplib.
#include "glassbox/features/openai_client.h"

#include <cmath>
#include <cstdlib>

#include <httplib.h>

#include "glassbox/error.h"

namespace glassbox::features {

namespace {

struct Url {
  std::string scheme_host_port, path;  // "http://127.0.0.1:8080", "/v1"
};

Url split_url(const std::string& url) {
  const size_t scheme = url.find("://");
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    fail("chat endpoint '", url, "': expected http://HOST[:PORT]/PATH or https://...");
  const size_t slash = url.find('/', scheme + 3);
  Url u{url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash)};
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  if (u.scheme_host_port.size() <= scheme + 3) fail("chat endpoint '", url, "': no host");
  return u;
}

std::string describe(httplib::Error e, double timeout_s) {
  switch (e) {
    case httplib::Error::Connection: return "cannot connect";
    case httplib::Error::ConnectionTimeout: return "connection timed out after " + std::to_string(timeout_s) + " s";
    case httplib::Error::Read:
      return "no complete response within " + std::to_string(timeout_s) + " s (timed out, or the server closed the connection)";
    default: return httplib::to_string(e);
  }
}

std::string excerpt(const std::string& s) { return s.size() > 300 ? s.substr(0, 300) + "..." : s; }

}  // namespace

ChatEndpoint chat_endpoint(const std::string& url, const std::string& model, const std::string& api_key_env) {
  ChatEndpoint ep;
  ep.url = url;
  ep.model = model;
  if (model.empty()) fail("chat endpoint ", url, ": a model name is required");
  if (!api_key_env.empty()) {
    const char* key = std::getenv(api_key_env.c_str());
    if (!key) fail("chat endpoint ", url, ": environment variable ", api_key_env, " (the API key) is not set");
    ep.api_key = key;
  }
  split_url(url);
  return ep;
}

std::string chat_completion(const ChatEndpoint& ep, const nlohmann::json& messages) {
  const Url u = split_url(ep.url);
  const std::string where = ep.url + "/chat/completions";
  httplib::Client cli(u.scheme_host_port);
  const auto sec = time_t(ep.timeout_s);
  const auto usec = time_t((ep.timeout_s - double(sec)) * 1e6);
  cli.set_connection_timeout(sec, usec);
  cli.set_read_timeout(sec, usec);
  cli.set_write_timeout(sec, usec);
  httplib::Headers headers;
  if (!ep.api_key.empty()) headers.emplace("Authorization", "Bearer " + ep.api_key);
  const nlohmann::json body = {{"model", ep.model},
                               {"messages", messages},
                               {"temperature", 0},
                               {"response_format", {{"type", "json_object"}}}};
  const httplib::Result res = cli.Post(u.path + "/chat/completions", headers, body.dump(), "application/json");
  if (!res) fail(where, ": ", describe(res.error(), ep.timeout_s));
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
  if (res->status < 200 || res->status >= 300) {
    std::string msg = excerpt(res->body);
    if (j.is_object() && j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      msg = j["error"]["message"].get<std::string>();
    fail(where, ": HTTP ", res->status, ": ", msg);
  }
  if (j.is_discarded()) fail(where, ": the response is not JSON: ", excerpt(res->body));
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty() ||
      !j["choices"][0].is_object() || !j["choices"][0].contains("message") ||
      !j["choices"][0]["message"].is_object() || !j["choices"][0]["message"].contains("content") ||
      !j["choices"][0]["message"]["content"].is_string())
    fail(where, ": the response has no choices[0].message.content string: ", excerpt(res->body));
  return j["choices"][0]["message"]["content"].get<std::string>();
}

nlohmann::json parse_json_reply(const std::string& reply, const std::string& what) {
  std::string s = reply;
  const size_t fence = s.find("```");
  if (fence != std::string::npos) {  // one fenced block, optionally tagged json
    const size_t start = s.find('\n', fence), end = s.rfind("```");
    if (start == std::string::npos || end <= start) fail(what, ": unterminated code block in the reply: ", excerpt(reply));
    s = s.substr(start + 1, end - start - 1);
  }
  nlohmann::json j = nlohmann::json::parse(s, nullptr, false);
  if (j.is_discarded() || !j.is_object()) fail(what, ": the reply is not a JSON object: ", excerpt(reply));
  return j;
}

}  // namespace glassbox::features
