// A server on a free loopback port, in this process, over the chat organism
// (tiny-lm-chat: a real BPE tokenizer and a chat template), and what the
// tests send it.
#pragma once
#include <httplib.h>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/model.h"
#include "glassbox/server/server.h"

namespace server_test {

inline const glassbox::Model& chat_model() {
  static const glassbox::Model m = glassbox::Model::load(std::string(GLASSBOX_SOURCE_DIR) + "/models/tiny-lm-chat");
  return m;
}

inline glassbox::server::ServerContext context(glassbox::server::Limits limits = {}) {
  glassbox::server::ServerContext c;
  c.model = &chat_model();
  c.model_id = "tiny-lm-chat";
  c.limits = limits;
  return c;
}

// A vector of the residual stream's width (deterministic, not a unit vector).
inline std::vector<float> vec(int64_t d, float seed) {
  std::vector<float> v(size_t(d), 0.f);
  for (int64_t i = 0; i < d; ++i) v[size_t(i)] = std::sin(seed * float(i + 1));
  return v;
}

// Steers hard (the output changes) and flags every token (entropy > 0).
inline nlohmann::json steer_profile() {
  const int64_t d = chat_model().config().d_model;
  return {{"interventions",
           {{{"type", "add_vector"}, {"hook", "blocks.1.hook_resid_post"}, {"vector", vec(d, 1.3f)}, {"alpha", 3.0}}}},
          {"monitors", {{{"name", "any"}, {"type", "entropy"}, {"threshold", 0.0}}}}};
}

class RunningServer {
 public:
  explicit RunningServer(glassbox::server::ServerContext ctx, glassbox::server::ServerOptions opt = {}) {
    opt.port = 0;
    server_ = std::make_unique<glassbox::server::Server>(std::move(ctx), opt);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->listen(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  httplib::Client client(const std::string& key = "") const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60, 0);
    if (!key.empty()) c.set_bearer_token_auth(key);
    return c;
  }

 private:
  std::unique_ptr<glassbox::server::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// The data lines of a server-sent event stream ("data: X\n\n" -> X).
inline std::vector<std::string> sse_events(const std::string& body) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    if (end == std::string::npos) {
      out.push_back("<unterminated>" + body.substr(at));
      break;
    }
    const std::string ev = body.substr(at, end - at);
    out.push_back(ev.rfind("data: ", 0) == 0 ? ev.substr(6) : "<not data>" + ev);
    at = end + 2;
  }
  return out;
}

}  // namespace server_test
