// `glassbox serve`: the OpenAI-compatible HTTP server (cpp-httplib) over one
// loaded model. Routes (api.h has their JSON):
//   GET  /v1/models
//   POST /v1/completions, /v1/chat/completions   ("stream": true: server-sent events,
//        data: {chunk}\n\n ... data: [DONE]\n\n, as OpenAI sends them)
//   POST /v1/glassbox/cache | lens | dla | patch
//   GET  /                                        the explorer page
//
// Every request runs in an Engine of its own over the one shared, read-only
// Model, so requests with different profiles run concurrently and never see
// each other's interventions. At most max_concurrent requests run model work
// at once; more get 429 at once (OpenAI's "rate_limit_exceeded"; its clients
// retry those by themselves) rather than waiting in a queue that would hide
// overload. With an api_key, every /v1/ route wants "Authorization: Bearer
// KEY" (401 otherwise). Errors are OpenAI's shape: {"error": {"message",
// "type", "param", "code"}}; nothing a client sends stops the server.
#pragma once
#include <cstddef>
#include <memory>
#include <string>

#include "glassbox/server/api.h"

namespace glassbox::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback: reachable from this machine only
  int port = 8000;                 // 0: any free port (bind() returns it)
  std::string api_key;             // empty: no authentication
  size_t max_body_bytes = size_t(1) << 20;  // larger bodies get 413
  int max_concurrent = 4;          // requests running model work at once; more get 429
};

class Server {
 public:
  // ctx.model must outlive the server.
  Server(ServerContext ctx, ServerOptions opt);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the address; returns the port. Error when it cannot be bound.
  int bind();
  // Serves until stop() (from another thread). Call bind() first.
  void listen();
  void stop();

  const ServerContext& context() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glassbox::server
