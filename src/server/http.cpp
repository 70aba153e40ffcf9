// The HTTP side of `glassbox serve`: routes over api.h's functions, the
// limits (body size, concurrency, authentication), OpenAI's error shape and
// server-sent events. All routes are registered in add_routes().
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "glassbox/error.h"
#include "glassbox/server/server.h"
#include "server/explorer.h"

namespace glassbox::server {

namespace {

using nlohmann::json;

// Generated text can be invalid UTF-8 (a token that splits a character):
// replaced, never an exception while answering.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

json error_body(const std::string& message, const std::string& type, const json& param, const json& code) {
  return {{"error", {{"message", message}, {"type", type}, {"param", param}, {"code", code}}}};
}

void send_error(httplib::Response& res, int status, const std::string& message, const std::string& type,
                const json& param = nullptr, const json& code = nullptr) {
  res.status = status;
  res.set_content(dump(error_body(message, type, param, code)), "application/json");
}

// api.h's errors start with the field they are about ("max_tokens: ...",
// "glassbox.profile.interventions[0].vector: ..."): that is OpenAI's "param"
// when its first part is a field of the request (a library message such as
// "cache: ..." names no field).
json param_of(const std::string& message, const json& body) {
  const size_t colon = message.find(": ");
  if (colon == std::string::npos || colon == 0 || !body.is_object()) return nullptr;
  const std::string field = message.substr(0, colon);
  if (field.find_first_of(" '\"") != std::string::npos) return nullptr;
  const std::string root = field.substr(0, field.find_first_of(".["));
  const bool missing = message.compare(colon, 9, ": missing") == 0;  // a required field, named too
  return body.contains(root) || missing ? json(field) : json(nullptr);
}

void send_bad_request(httplib::Response& res, const std::string& message, const json& body = nullptr) {
  send_error(res, 400, message, "invalid_request_error", param_of(message, body));
}

// Nesting deeper than this is refused before parsing: nothing here needs more,
// and a deeply nested document would recurse through every later use.
constexpr int kMaxJsonDepth = 64;

json parse_body(const httplib::Request& req) {
  if (req.body.empty()) fail("body: empty; expected a JSON object");
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : req.body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) fail("body: JSON nested deeper than ", kMaxJsonDepth, " levels");
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    fail("body: malformed JSON (", e.what(), ")");
  }
}

// How many requests run model work at once; the rest are refused (429).
class Gate {
 public:
  explicit Gate(int n) : free_(n) {}
  bool try_enter() {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_ == 0) return false;
    --free_;
    return true;
  }
  void leave() {
    std::lock_guard<std::mutex> lock(mu_);
    ++free_;
  }

 private:
  std::mutex mu_;
  int free_;
};

// A slot of the gate, given back when the last copy goes (a stream keeps it
// until its content provider is released).
using Slot = std::shared_ptr<void>;
Slot enter(Gate& g) {
  if (!g.try_enter()) return nullptr;
  return Slot(static_cast<void*>(&g), [](void* p) { static_cast<Gate*>(p)->leave(); });
}

bool same_secret(const std::string& a, const std::string& b) {
  // Constant time in the content: a client cannot find the key byte by byte.
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

std::string new_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-%016llx%06llx", prefix, static_cast<unsigned long long>(salt),
                static_cast<unsigned long long>(++counter & 0xffffff));
  return buf;
}

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

struct Routes {
  const ServerContext& ctx;
  const ServerOptions& opt;
  Gate& gate;

  // Runs fn(body) -> JSON under a slot of the gate, errors as OpenAI's. A GET
  // has no body: fn gets an empty object.
  template <class Fn>
  void answer(const httplib::Request& req, httplib::Response& res, Fn&& fn) const {
    Slot slot = enter(gate);
    if (!slot) return busy(res);
    json body;
    try {
      body = req.method == "GET" ? json::object() : parse_body(req);
      res.set_content(dump(fn(body)), "application/json");
    } catch (const Error& e) {
      send_bad_request(res, e.what(), body);
    } catch (const json::exception& e) {  // a type the parsing did not foresee: still the client's
      send_bad_request(res, std::string("body: ") + e.what());
    }
  }

  void busy(httplib::Response& res) const {
    res.set_header("Retry-After", "1");
    send_error(res, 429,
               "the server is running " + std::to_string(opt.max_concurrent) +
                   " requests, its limit (--max-concurrent); retry shortly",
               "rate_limit_error", nullptr, "rate_limit_exceeded");
  }

  void generation(const httplib::Request& req, httplib::Response& res, Endpoint ep) const {
    Slot slot = enter(gate);
    if (!slot) return busy(res);
    GenerationRequest r;
    json body;
    try {
      body = parse_body(req);
      r = parse_generation_request(ctx, body, ep);
    } catch (const Error& e) {
      return send_bad_request(res, e.what(), body);
    } catch (const json::exception& e) {
      return send_bad_request(res, std::string("body: ") + e.what());
    }
    const std::string id = new_id(ep == Endpoint::Chat ? "chatcmpl" : "cmpl");
    const int64_t created = now_s();
    if (!r.stream) {
      const GenerationResult g = run_generation(ctx, r);
      res.set_content(dump(response_json(ctx, r, g, id, created)), "application/json");
      return;
    }
    // The stream: the whole generation runs inside the provider, each
    // delta written as an event the moment it is final.
    res.set_header("Cache-Control", "no-cache");
    const ServerContext* c = &ctx;
    res.set_chunked_content_provider(
        "text/event-stream",
        [c, r, id, created, slot](size_t, httplib::DataSink& sink) {
          bool first = true;
          auto send = [&](const std::string& s) { return sink.is_writable() && sink.write(s.data(), s.size()); };
          try {
            if (r.endpoint == Endpoint::Chat) {  // the role first, as OpenAI does
              send(sse(delta_chunk_json(*c, r, "", true, id, created)));
              first = false;
            }
            const GenerationResult g = run_generation(*c, r, [&](const std::string& delta) {
              const bool ok = send(sse(delta_chunk_json(*c, r, delta, first, id, created)));
              first = false;
              return ok;
            });
            send(sse(final_chunk_json(*c, r, g, id, created)));
            if (r.include_usage) send(sse(usage_chunk_json(*c, r, g, id, created)));
          } catch (const std::exception& e) {
            send(sse(error_body(e.what(), "server_error", nullptr, nullptr)));
          }
          send("data: [DONE]\n\n");
          sink.done();
          return true;
        },
        [slot](bool) {});  // the slot is held until the stream is over
  }
};

void add_routes(httplib::Server& http, const ServerContext& ctx, const ServerOptions& opt, Gate& gate) {
  // Authentication for the API (the explorer page itself is static).
  http.set_pre_routing_handler([&opt](const httplib::Request& req, httplib::Response& res) {
    if (opt.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string bearer = "Bearer ";
    if (auth.rfind(bearer, 0) == 0 && same_secret(auth.substr(bearer.size()), opt.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, 401,
               auth.empty() ? "no API key: send the header 'Authorization: Bearer KEY'" : "incorrect API key",
               "invalid_request_error", nullptr, "invalid_api_key");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib sets itself (404, 413, 400 for a broken request line) get a JSON body.
  http.set_error_handler(httplib::Server::HandlerWithResponse([&opt](const httplib::Request& req,
                                                                      httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404)
      send_error(res, 404, "no route " + req.method + " " + req.path, "invalid_request_error");
    else if (res.status == 413)
      send_error(res, 413,
                 "body: larger than the limit of " + std::to_string(opt.max_body_bytes) + " bytes (--max-body-bytes)",
                 "invalid_request_error", "body", "request_too_large");
    else
      send_error(res, res.status, "bad request (HTTP " + std::to_string(res.status) + ")", "invalid_request_error");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, what, "server_error");
  });

  auto routes = std::make_shared<Routes>(Routes{ctx, opt, gate});
  http.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump(models_json(ctx)), "application/json");
  });
  http.Post("/v1/completions", [routes](const httplib::Request& req, httplib::Response& res) {
    routes->generation(req, res, Endpoint::Completions);
  });
  http.Post("/v1/chat/completions", [routes](const httplib::Request& req, httplib::Response& res) {
    routes->generation(req, res, Endpoint::Chat);
  });
  using Analysis = json (*)(const ServerContext&, const json&);
  const std::pair<const char*, Analysis> analyses[] = {
      {"/v1/glassbox/cache", cache_json}, {"/v1/glassbox/lens", lens_json},
      {"/v1/glassbox/dla", dla_json},     {"/v1/glassbox/patch", patch_json}};
  for (const auto& [path, fn] : analyses)
    http.Post(path, [routes, fn = fn](const httplib::Request& req, httplib::Response& res) {
      routes->answer(req, res, [&](const json& body) { return fn(routes->ctx, body); });
    });
  // The explorer: the page, and its endpoints answered as the ones above.
  http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    try {
      // Built per request (a string copy of ~1 MB): the assets are read once
      // and cached by the report layer.
      res.set_content(explorer_page_html(), "text/html; charset=utf-8");
    } catch (const Error& e) {
      res.status = 500;
      res.set_content(std::string("glassbox serve: the explorer page cannot be built: ") + e.what() + "\n",
                      "text/plain; charset=utf-8");
    }
  });
  http.Get("/v1/glassbox/explorer/info", [routes](const httplib::Request& req, httplib::Response& res) {
    routes->answer(req, res, [&](const json&) { return explorer_info_json(routes->ctx); });
  });
  for (const ExplorerEndpoint& ep : explorer_endpoints())
    http.Post(ep.path, [routes, fn = ep.handler](const httplib::Request& req, httplib::Response& res) {
      routes->answer(req, res, [&](const json& body) { return fn(routes->ctx, body); });
    });
}

}  // namespace

struct Server::Impl {
  ServerContext ctx;
  ServerOptions opt;
  Gate gate;
  httplib::Server http;
  std::atomic<bool> listening{false};
  Impl(ServerContext c, ServerOptions o) : ctx(std::move(c)), opt(std::move(o)), gate(opt.max_concurrent) {}
};

Server::Server(ServerContext ctx, ServerOptions opt) {
  if (!ctx.model) fail("server: no model");
  if (opt.max_concurrent < 1) fail("--max-concurrent: must be at least 1, got ", opt.max_concurrent);
  if (opt.max_body_bytes == 0) fail("--max-body-bytes: must be above 0");
  impl_ = std::make_unique<Impl>(std::move(ctx), std::move(opt));
  Impl& s = *impl_;
  // Connection threads: every running request holds one, and so does an idle
  // keep-alive connection; refused (429) requests need one to be answered.
  const size_t threads = size_t(std::max(32, 4 * s.opt.max_concurrent));
  s.http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.http.set_payload_max_length(s.opt.max_body_bytes);
  s.http.set_keep_alive_max_count(1000);
  s.http.set_read_timeout(30, 0);
  add_routes(s.http, s.ctx, s.opt, s.gate);
}

Server::~Server() { stop(); }

int Server::bind() {
  Impl& s = *impl_;
  int port = s.opt.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.opt.host);
    if (port < 0) fail("serve: cannot bind ", s.opt.host, " to any port");
  } else if (!s.http.bind_to_port(s.opt.host, port)) {
    fail("serve: cannot bind ", s.opt.host, ":", port, " (in use, or not an address of this machine)");
  }
  s.opt.port = port;
  return port;
}

void Server::listen() {
  impl_->listening = true;
  impl_->http.listen_after_bind();
  impl_->listening = false;
}

void Server::stop() {
  if (!impl_) return;
  // stop() before the listening loop has started would be lost: wait for it.
  for (int i = 0; i < 500 && impl_->listening && !impl_->http.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  impl_->http.stop();
}

const ServerContext& Server::context() const { return impl_->ctx; }

}  // namespace glassbox::server
