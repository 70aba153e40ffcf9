// glassbox serve: the OpenAI-compatible HTTP server (glassbox/server/server.h)
// over one model loaded once, with named steering profiles.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/server/server.h"
#include "glassbox/steering/profile.h"

namespace glassbox::cli {

Command add_serve_command(CLI::App& parent) {
  struct Opts {
    std::string model, model_id, max_body = "1MiB";
    std::vector<std::string> profiles;
    server::ServerOptions server;
    server::Limits limits;
  };
  auto o = std::make_shared<Opts>();
  o->limits.request_timeout_s = 60;
  CLI::App* cmd = parent.add_subcommand(
      "serve", "OpenAI-compatible HTTP server: /v1/completions, /v1/chat/completions (streaming), /v1/models, "
               "per-request steering profiles and monitors, analysis endpoints /v1/glassbox/{cache,lens,dla,patch}");
  add_model_option(*cmd, o->model);
  cmd->add_option("--host", o->server.host, "Address to listen on (default: loopback only; 0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: a free one, printed on start)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--model-id", o->model_id, "The model's name in /v1/models and requests (default: its directory's name)");
  cmd->add_option("--profile", o->profiles,
                  "NAME=FILE: a steering profile (interventions + monitors JSON) that requests select with "
                  "\"glassbox\": {\"profile\": \"NAME\"}; repeatable");
  cmd->add_option("--api-key", o->server.api_key, "Require 'Authorization: Bearer KEY' on /v1/ routes")
      ->envname("GLASSBOX_API_KEY");
  cmd->add_option("--max-body-bytes", o->max_body, "Largest request body (e.g. 1MiB, 64K); larger get 413")
      ->capture_default_str();
  cmd->add_option("--max-prompt-tokens", o->limits.max_prompt_tokens,
                  "Longest prompt in tokens (default: the model's context)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-tokens", o->limits.max_tokens, "Most new tokens one request may ask for")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-concurrent", o->server.max_concurrent,
                  "Requests running model work at once; more are answered 429 (retry later) at once")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--request-timeout", o->limits.request_timeout_s,
                  "Seconds a generation may run; then it stops with finish_reason \"timeout\" (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  return {cmd, [o] {
            o->server.max_body_bytes = parse_bytes(o->max_body, "--max-body-bytes");
            const std::string path = resolve_model_path(o->model);
            const Model m = Model::load(path);
            server::ServerContext ctx;
            ctx.model = &m;
            ctx.model_id = o->model_id;
            if (ctx.model_id.empty()) {
              std::filesystem::path p(path);
              ctx.model_id = (p.has_filename() ? p : p.parent_path()).stem().string();
            }
            ctx.limits = o->limits;
            for (const std::string& spec : o->profiles) {
              const size_t eq = spec.find('=');
              if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
                fail("--profile: expected NAME=FILE, got '", spec, "'");
              const std::string name = spec.substr(0, eq), file = spec.substr(eq + 1);
              if (ctx.profiles.count(name)) fail("--profile: the name '", name, "' is given twice");
              steering::Profile p = steering::load_profile(file);
              p.check_fits(m.config(), file);
              ctx.profiles[name] = std::move(p);
            }
            server::Server s(std::move(ctx), o->server);
            const int port = s.bind();
            std::printf("glassbox serve: %s on http://%s:%d/ (OpenAI API under /v1/)\n", s.context().model_id.c_str(),
                        o->server.host.c_str(), port);
            std::fflush(stdout);
            s.listen();
            return 0;
          }};
}

}  // namespace glassbox::cli
