// What `glassbox serve` answers, as plain functions of (the served model, a
// request's JSON body) -> JSON, testable without a socket (server.h puts
// them behind HTTP routes).
//
// Errors are glassbox::Error whose message starts with the request field it
// is about ("max_tokens: ...", "glassbox.profile.interventions[0].vector:
// ..."): the server answers them with OpenAI's 400
// {"error": {"message", "type": "invalid_request_error", "param", "code"}},
// param being that field.
//
// OpenAI-compatible generation (one choice per request, n = 1):
//   POST /v1/completions       {"model", "prompt": "text" | [token ids], "max_tokens" (16),
//                               "temperature" (1), "top_p" (1), "seed", "stop": "s" | ["s", ...],
//                               "stream", "stream_options": {"include_usage"}, "logprobs": k (top-k per token)}
//   POST /v1/chat/completions  {"model", "messages": [{"role", "content"}], "max_tokens" |
//                               "max_completion_tokens", ... as above, "logprobs": true, "top_logprobs": k}
// The chat template is the one the chat organism (models/tiny-lm-chat) was
// trained on: each message as "Role: content" (System / User / Assistant) on
// its own line, then "Assistant:"; the tokenizer's BOS first. The reply's
// leading spaces are dropped, and "\nUser:" is a stop sequence.
//
// The extension field: "glassbox": {"profile": {profile JSON, steering/profile.h} | "NAME"}
// runs the request under that profile (a NAME loaded at start with
// --profile NAME=FILE). A profile in a request may not name server files
// (patch sources, probe files, dictionaries): those belong in a named
// profile. The response carries "glassbox": {"monitors": [events],
// "tokens": [generated ids], "profile": name}.
// finish_reason: "stop" (end-of-text or a stop sequence), "length"
// (max_tokens or the context), "content_filter" (a monitor's stop action),
// "timeout" (the request ran past --request-timeout).
//
// Analysis (the CLI's JSON; field names as the CLI's flags):
//   POST /v1/glassbox/cache  {"prompt" | "tokens", "names": [hook names or globs] (alias "hooks"),
//                             "positions": [ints]}
//   POST /v1/glassbox/lens   {"prompt" | "tokens", "target", "top_k"}
//   POST /v1/glassbox/dla    {"prompt" | "tokens", "answer", "wrong", "pos"}
//   POST /v1/glassbox/patch  {"clean", "corrupt" | "clean_tokens", "corrupt_tokens", "answer", "wrong",
//                             "metric", "sites", "method" (activation | attribution | both),
//                             "direction", "raw"}
// A token field ("target", "answer", "wrong") is an id or the text of exactly one token.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/generate.h"
#include "glassbox/model.h"
#include "glassbox/steering/profile.h"

namespace glassbox::server {

// What one request may ask for.
struct Limits {
  int64_t max_prompt_tokens = 0;    // 0: the model's context
  int max_tokens = 512;             // new tokens one request may ask for
  double request_timeout_s = 0;     // 0: none; generation stops with finish_reason "timeout"
  int64_t max_cache_values = int64_t(1) << 22;  // /v1/glassbox/cache: activation values in one answer
};

// What every request reads: the one model (loaded once, read-only, shared by
// every request: each runs in an Engine of its own) and the profiles loaded at start.
struct ServerContext {
  const Model* model = nullptr;
  std::string model_id;  // what /v1/models lists and requests name
  std::map<std::string, steering::Profile> profiles;
  Limits limits;
};

// GET /v1/models.
nlohmann::json models_json(const ServerContext& ctx);

enum class Endpoint : uint8_t { Completions, Chat };

// A generation request, checked: everything run_generation() needs.
struct GenerationRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::vector<int32_t> prompt;
  SamplingOptions sampling;        // stop_tokens: the end-of-text token
  std::vector<std::string> stop;   // stop sequences (text)
  bool stream = false, include_usage = false;
  int logprobs = -1;               // top alternatives per token; -1: no logprobs
  steering::Profile profile;
  std::string profile_name;        // a named profile's name ("" inline or none)
};

// Error naming the field for anything malformed, unknown or over a limit.
GenerationRequest parse_generation_request(const ServerContext& ctx, const nlohmann::json& body, Endpoint ep);

struct TokenLogprob {
  int32_t token = 0;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // most probable first
};

struct GenerationResult {
  std::vector<int32_t> tokens;     // generated ids (the end-of-text token included when it came)
  std::string text;                // what the client sees: stop sequences and end-of-text cut
  std::string finish_reason;       // stop | length | content_filter | timeout
  std::vector<steering::MonitorEvent> events;
  std::vector<TokenLogprob> logprobs;  // per generated token when asked
  int64_t prompt_tokens = 0;
};

// Receives the reply's text as it becomes final (whole UTF-8 characters, never
// a prefix of a stop sequence); returns false when the client has gone (the
// generation stops).
using TextSink = std::function<bool(const std::string& delta)>;

// Generates under the request's profile, in an Engine of its own over the shared model.
GenerationResult run_generation(const ServerContext& ctx, const GenerationRequest& r, const TextSink& on_text = {});

// The response object (text_completion / chat.completion), and for streams
// each chunk: a delta (first: true adds the chat role) and the final chunk
// (finish_reason, monitors; usage when asked).
nlohmann::json response_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g,
                             const std::string& id, int64_t created);
nlohmann::json delta_chunk_json(const ServerContext& ctx, const GenerationRequest& r, const std::string& delta,
                                bool first, const std::string& id, int64_t created);
nlohmann::json final_chunk_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g,
                                const std::string& id, int64_t created);
nlohmann::json usage_chunk_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g,
                                const std::string& id, int64_t created);

// parse + run + response_json.
nlohmann::json complete(const ServerContext& ctx, const nlohmann::json& body, Endpoint ep, const std::string& id,
                        int64_t created);

// Analysis endpoints: the same JSON as `glassbox cache|lens|dla|patch --json`
// (cache: the activations themselves, not a file).
nlohmann::json cache_json(const ServerContext& ctx, const nlohmann::json& body);
nlohmann::json lens_json(const ServerContext& ctx, const nlohmann::json& body);
nlohmann::json dla_json(const ServerContext& ctx, const nlohmann::json& body);
nlohmann::json patch_json(const ServerContext& ctx, const nlohmann::json& body);

}  // namespace glassbox::server
