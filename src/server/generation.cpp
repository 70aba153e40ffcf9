// OpenAI-compatible completions and chat completions: a request's JSON to a
// checked GenerationRequest, generation under its profile (streamed token by
// token through the per-step observer), and the response objects.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "glassbox/error.h"
#include "glassbox/server/api.h"
#include "glassbox/tokenizer.h"
#include "server/request_fields.h"
#include "server/text_stream.h"

namespace glassbox::server {

namespace {

using nlohmann::json;

// Fields a client may send that change nothing here when left at OpenAI's
// default: accepted at that value, an error otherwise (never ignored silently).
bool is_default_noop(const std::string& key, const json& v) {
  if (key == "presence_penalty" || key == "frequency_penalty") return v.is_number() && v.get<double>() == 0;
  if (key == "best_of") return v.is_number_integer() && v.get<int64_t>() == 1;
  if (key == "logit_bias") return v.is_null() || (v.is_object() && v.empty());
  if (key == "suffix" || key == "user") return true;  // user: an end-user id for abuse tracking; unused
  if (key == "echo") return v.is_boolean() && !v.get<bool>();
  return false;
}

// Files a request's profile could make the server read: patch / mean-ablation
// sources, dictionaries, probe files. Inline profiles must carry their data.
void reject_file_references(const json& profile) {
  auto check = [](const json& item, const std::string& field) {
    if (!item.is_object()) return;
    for (const char* key : {"source", "sae", "probe"})
      if (item.contains(key) && item[key].is_string())
        fail(field, ".", key, ": a profile sent in a request cannot name files on the server; load it at start "
             "(glassbox serve --profile NAME=FILE) and send \"profile\": \"NAME\"");
  };
  for (const char* list : {"interventions", "monitors"}) {
    if (!profile.contains(list) || !profile[list].is_array()) continue;
    const json& xs = profile[list];
    for (size_t i = 0; i < xs.size(); ++i) {
      const std::string field = std::string("glassbox.profile.") + list + "[" + std::to_string(i) + "]";
      check(xs[i], field);
      if (xs[i].is_array())  // an intervention item may itself be a list
        for (size_t k = 0; k < xs[i].size(); ++k) check(xs[i][k], field + "[" + std::to_string(k) + "]");
    }
  }
}

void parse_extension(const ServerContext& ctx, const json& ext, GenerationRequest& r) {
  if (!ext.is_object()) fail("glassbox: expected an object {\"profile\": ...}, got ", fields::show(ext));
  fields::check_known(ext, {"profile"}, "glassbox");
  const json* p = fields::find(ext, "profile");
  if (!p) return;
  if (p->is_string()) {
    const std::string name = p->get<std::string>();
    const auto it = ctx.profiles.find(name);
    if (it == ctx.profiles.end()) {
      std::string have;
      for (const auto& [n, _] : ctx.profiles) have += (have.empty() ? "" : ", ") + n;
      fail("glassbox.profile: no profile named ", fields::show(*p), " was loaded at start (",
           have.empty() ? "none were; glassbox serve --profile NAME=FILE" : "loaded: " + have, ")");
    }
    r.profile = it->second;
    r.profile_name = name;
    return;
  }
  reject_file_references(*p);
  r.profile = steering::Profile::from_json(*p, "", "glassbox.profile");
  r.profile.check_fits(ctx.model->config(), "glassbox.profile");
}

std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = char(s[0] - 'a' + 'A');
  return s;
}

// messages -> the chat organism's template, through the tokenizer.
std::vector<int32_t> chat_prompt(const Model& m, const json& messages) {
  if (!messages.is_array() || messages.empty())
    fail("messages: expected a non-empty list of {\"role\", \"content\"}, got ", fields::show(messages));
  if (!m.tokenizer()) fail("messages: the model has no tokenizer; use /v1/completions with token ids");
  std::string text;
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string f = "messages[" + std::to_string(i) + "]";
    const json& msg = messages[i];
    if (!msg.is_object()) fail(f, ": expected {\"role\", \"content\"}, got ", fields::show(msg));
    fields::check_known(msg, {"role", "content", "name"}, f);
    const std::string role = fields::string(msg.contains("role") ? msg["role"] : json(), f + ".role");
    if (role != "system" && role != "developer" && role != "user" && role != "assistant")
      fail(f, ".role: expected system, developer, user or assistant, got ", fields::show(msg["role"]));
    std::string content;
    const json& c = msg.contains("content") ? msg["content"] : json();
    if (c.is_string()) {
      content = c.get<std::string>();
    } else if (c.is_array()) {  // [{"type": "text", "text": ...}]
      for (size_t k = 0; k < c.size(); ++k) {
        const std::string pf = f + ".content[" + std::to_string(k) + "]";
        if (!c[k].is_object() || c[k].value("type", json()) != "text")
          fail(pf, ": only {\"type\": \"text\", \"text\": ...} parts are supported");
        content += fields::string(c[k].contains("text") ? c[k]["text"] : json(), pf + ".text");
      }
    } else {
      fail(f, ".content: expected a string or a list of text parts, got ", fields::show(c));
    }
    text += capitalised(role == "developer" ? "system" : role) + ": " + content + "\n";
  }
  text += "Assistant:";
  const Tokenizer& tok = *m.tokenizer();
  // Special tokens written by a user are text, not control tokens.
  std::vector<int32_t> ids = tok.encode(text, /*add_special=*/true, /*parse_special=*/false);
  if (!tok.add_bos() && tok.bos_id() >= 0) ids.insert(ids.begin(), tok.bos_id());
  return ids;
}

int64_t prompt_limit(const ServerContext& ctx) {
  const int64_t n_ctx = ctx.model->config().n_ctx;
  return ctx.limits.max_prompt_tokens > 0 ? std::min(ctx.limits.max_prompt_tokens, n_ctx) : n_ctx;
}

}  // namespace

nlohmann::json models_json(const ServerContext& ctx) {
  return {{"object", "list"},
          {"data",
           json::array({{{"id", ctx.model_id},
                         {"object", "model"},
                         {"created", 0},
                         {"owned_by", "glassbox"},
                         {"glassbox",
                          {{"n_layers", ctx.model->config().n_layers},
                           {"d_model", ctx.model->config().d_model},
                           {"n_ctx", ctx.model->config().n_ctx},
                           {"d_vocab", ctx.model->config().d_vocab},
                           {"profiles", [&] {
                              json names = json::array();
                              for (const auto& [n, _] : ctx.profiles) names.push_back(n);
                              return names;
                            }()}}}}})}};
}

GenerationRequest parse_generation_request(const ServerContext& ctx, const json& body, Endpoint ep) {
  if (!body.is_object()) fail("body: expected a JSON object, got ", fields::show(body));
  const bool chat = ep == Endpoint::Chat;
  const Model& m = *ctx.model;
  for (const auto& [key, v] : body.items()) {
    static const char* const common[] = {"model", "max_tokens", "temperature", "top_p", "seed", "stop", "n",
                                         "stream", "stream_options", "logprobs", "glassbox"};
    static const char* const only_chat[] = {"messages", "max_completion_tokens", "top_logprobs"};
    bool known = std::find(std::begin(common), std::end(common), key) != std::end(common) ||
                 (chat ? std::find(std::begin(only_chat), std::end(only_chat), key) != std::end(only_chat)
                       : key == "prompt");
    if (!known && !is_default_noop(key, v))
      fail(key, ": not supported by this server (", chat ? "/v1/chat/completions" : "/v1/completions",
           " takes model, ", chat ? "messages, max_tokens, max_completion_tokens" : "prompt, max_tokens",
           ", temperature, top_p, seed, stop, n = 1, stream, stream_options, logprobs",
           chat ? ", top_logprobs" : "", " and the glassbox extension)");
  }
  GenerationRequest r;
  r.endpoint = ep;
  if (const json* v = fields::find(body, "model")) {
    const std::string name = fields::string(*v, "model");
    if (name != ctx.model_id) fail("model: this server serves '", ctx.model_id, "', not ", fields::show(*v));
  }
  if (const json* v = fields::find(body, "n"))
    if (fields::integer(*v, "n", 1, 1) != 1) fail("n: only 1 is supported");

  // The prompt.
  const std::string prompt_field = chat ? "messages" : "prompt";
  if (chat) {
    const json* msgs = fields::find(body, "messages");
    if (!msgs) fail("messages: missing");
    r.prompt = chat_prompt(m, *msgs);
  } else {
    const json* p = fields::find(body, "prompt");
    if (!p) fail("prompt: missing");
    if (p->is_string()) {
      r.prompt = fields::encode(m, p->get<std::string>(), "prompt");
    } else if (p->is_array() && !p->empty() && (*p)[0].is_number()) {
      r.prompt = fields::token_ids(m, *p, "prompt");
    } else if (p->is_array() && p->size() == 1) {  // ["text"] or [[ids]]: one prompt in a list
      const json& q = (*p)[0];
      r.prompt = q.is_string() ? fields::encode(m, q.get<std::string>(), "prompt[0]") : fields::token_ids(m, q, "prompt[0]");
    } else if (p->is_array() && p->size() > 1) {
      fail("prompt: a batch of ", p->size(), " prompts; this server takes one prompt per request");
    } else {
      fail("prompt: expected text or a list of token ids, got ", fields::show(*p));
    }
  }
  if (r.prompt.empty()) fail(prompt_field, ": the prompt has no tokens");
  const int64_t limit = prompt_limit(ctx), n_ctx = m.config().n_ctx;
  if (int64_t(r.prompt.size()) > limit)
    fail(prompt_field, ": ", r.prompt.size(), " tokens, more than the limit of ", limit,
         limit == n_ctx ? " (the model's context)" : " (--max-prompt-tokens)");

  // Sampling, with OpenAI's defaults.
  const int64_t room = n_ctx - int64_t(r.prompt.size());
  const char* max_key = chat && fields::find(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (const json* v = fields::find(body, max_key)) {
    const int64_t n = fields::integer(*v, max_key, 0, ctx.limits.max_tokens);
    if (n > room)
      fail(max_key, ": the prompt is ", r.prompt.size(), " tokens and ", n, " more exceed the model's context of ",
           n_ctx, " tokens");
    r.sampling.max_new_tokens = int(n);
  } else {
    r.sampling.max_new_tokens = int(std::min<int64_t>(chat ? ctx.limits.max_tokens : 16, room));
    r.sampling.max_new_tokens = std::min(r.sampling.max_new_tokens, ctx.limits.max_tokens);
  }
  if (const json* v = fields::find(body, "temperature")) {
    const double t = fields::number(*v, "temperature");
    if (t < 0 || t > 2) fail("temperature: ", t, " is out of range [0, 2]");
    r.sampling.temperature = float(t);
  }
  if (const json* v = fields::find(body, "top_p")) {
    const double p = fields::number(*v, "top_p");
    if (p <= 0 || p > 1) fail("top_p: ", p, " is out of range (0, 1]");
    r.sampling.top_p = float(p);
  }
  if (const json* v = fields::find(body, "seed"))
    r.sampling.seed = uint64_t(fields::integer(*v, "seed", std::numeric_limits<int64_t>::min(),
                                               std::numeric_limits<int64_t>::max()));
  else
    r.sampling.seed = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  if (m.tokenizer() && m.tokenizer()->eos_id() >= 0) r.sampling.stop_tokens = {m.tokenizer()->eos_id()};
  if (const json* v = fields::find(body, "stop")) {
    r.stop = fields::strings(*v, "stop");
    if (r.stop.size() > 4) fail("stop: at most 4 stop sequences, got ", r.stop.size());
    for (size_t i = 0; i < r.stop.size(); ++i)
      if (r.stop[i].empty()) fail("stop[", i, "]: an empty stop sequence");
  }
  if (chat) r.stop.push_back("\nUser:");  // the template's next turn

  if (const json* v = fields::find(body, "stream")) r.stream = fields::boolean(*v, "stream");
  if (const json* v = fields::find(body, "stream_options")) {
    if (!v->is_object()) fail("stream_options: expected an object, got ", fields::show(*v));
    fields::check_known(*v, {"include_usage"}, "stream_options");
    if (const json* u = fields::find(*v, "include_usage")) r.include_usage = fields::boolean(*u, "stream_options.include_usage");
  }
  constexpr int kMaxLogprobs = 20;
  if (chat) {
    const bool want = fields::find(body, "logprobs") && fields::boolean(body["logprobs"], "logprobs");
    if (const json* v = fields::find(body, "top_logprobs")) {
      if (!want) fail("top_logprobs: needs \"logprobs\": true");
      r.logprobs = int(fields::integer(*v, "top_logprobs", 0, kMaxLogprobs));
    } else if (want) {
      r.logprobs = 0;
    }
  } else if (const json* v = fields::find(body, "logprobs")) {
    r.logprobs = int(fields::integer(*v, "logprobs", 0, kMaxLogprobs));
  }
  if (const json* v = fields::find(body, "glassbox")) parse_extension(ctx, *v, r);
  return r;
}

GenerationResult run_generation(const ServerContext& ctx, const GenerationRequest& r, const TextSink& on_text) {
  const Model& m = *ctx.model;
  const int64_t V = m.config().d_vocab;
  const bool chat = r.endpoint == Endpoint::Chat;
  const auto& stops = r.sampling.stop_tokens;
  auto is_stop_token = [&](int32_t t) { return std::find(stops.begin(), stops.end(), t) != stops.end(); };
  using Clock = std::chrono::steady_clock;
  const auto deadline = ctx.limits.request_timeout_s > 0
                            ? Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(ctx.limits.request_timeout_s))
                            : Clock::time_point::max();

  GenerationResult g;
  g.prompt_tokens = int64_t(r.prompt.size());
  TextStream text(m.tokenizer(), r.stop, chat);
  bool client_gone = false;
  std::string reason;
  size_t pushed = 0;  // generated tokens given to `text`
  std::vector<float> last_logits;  // the previous step's, for the logprobs of the token it produced

  auto record_logprobs = [&](const float* logits, int32_t token) {
    TokenLogprob lp;
    lp.token = token;
    double mx = *std::max_element(logits, logits + V), sum = 0;
    for (int64_t i = 0; i < V; ++i) sum += std::exp(double(logits[i]) - mx);
    const double lse = mx + std::log(sum);
    lp.logprob = float(logits[token] - lse);
    std::vector<int32_t> idx(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) idx[size_t(i)] = int32_t(i);
    const size_t k = std::min<size_t>(size_t(r.logprobs), idx.size());
    std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(k), idx.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    for (size_t i = 0; i < k; ++i) lp.top.push_back({idx[i], float(logits[idx[i]] - lse)});
    g.logprobs.push_back(std::move(lp));
  };
  // A token the generation emitted: to the text (the stop token ends it unseen).
  auto take_token = [&](int32_t t) {
    ++pushed;
    if (is_stop_token(t)) return;
    const std::string delta = text.push(t);
    if (!delta.empty() && on_text && !on_text(delta)) client_gone = true;
  };

  auto observe = [&](GenerateStep& st) {
    if (st.last_tokens) {
      if (r.logprobs >= 0) record_logprobs(last_logits.data(), st.last_tokens[0]);
      take_token(st.last_tokens[0]);
    }
    if (r.logprobs >= 0) last_logits.assign(st.logits, st.logits + V);
    if (st.stop[0]) {
      reason = "content_filter";  // a monitor's stop action
    } else if (text.stopped() || client_gone) {
      reason = "stop";
      st.stop[0] = 1;
    } else if (Clock::now() > deadline) {
      reason = "timeout";
      st.stop[0] = 1;
    }
  };
  steering::MonitoredGeneration mg = steering::generate_with_profile(m, {r.prompt}, r.sampling, r.profile, observe);
  g.tokens = std::move(mg.tokens[0]);
  g.events = std::move(mg.events);
  // The last token (sampled after the last observer call).
  for (size_t i = pushed; i < g.tokens.size() && !text.stopped(); ++i) {
    if (r.logprobs >= 0 && !last_logits.empty()) record_logprobs(last_logits.data(), g.tokens[i]);
    take_token(g.tokens[i]);
  }
  const std::string rest = text.finish();
  if (!rest.empty() && on_text && !client_gone) on_text(rest);
  g.text = text.text();
  if (reason.empty())
    reason = text.stopped() || (!g.tokens.empty() && is_stop_token(g.tokens.back())) ? "stop" : "length";
  g.finish_reason = reason;
  return g;
}

namespace {

json token_text(const Model& m, int32_t id) {
  if (!m.tokenizer()) return nullptr;
  return json(m.tokenizer()->token_to_bytes(id));
}

json logprobs_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g) {
  if (r.logprobs < 0) return nullptr;
  const Model& m = *ctx.model;
  if (r.endpoint == Endpoint::Chat) {
    json content = json::array();
    for (const TokenLogprob& lp : g.logprobs) {
      json top = json::array();
      for (const auto& [t, l] : lp.top) top.push_back({{"token", token_text(m, t)}, {"logprob", l}, {"id", t}});
      content.push_back({{"token", token_text(m, lp.token)}, {"logprob", lp.logprob}, {"id", lp.token},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), token_logprobs = json::array(), top = json::array();
  for (const TokenLogprob& lp : g.logprobs) {
    tokens.push_back(token_text(m, lp.token));
    token_logprobs.push_back(lp.logprob);
    json alt = json::object();
    for (const auto& [t, l] : lp.top) {
      const json s = token_text(m, t);
      if (s.is_string()) {
        alt[s.get<std::string>()] = l;
        continue;
      }
      std::string key = "#";  // (append, not "#" + ...: GCC 12 warns -Wrestrict on that)
      key.append(std::to_string(t));
      alt[key] = l;
    }
    top.push_back(alt);
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top}};
}

json extension_json(const GenerationRequest& r, const GenerationResult& g) {
  json events = json::array();
  for (const steering::MonitorEvent& e : g.events) events.push_back(e.to_json());
  json j = {{"monitors", events}, {"tokens", g.tokens}};
  if (!r.profile_name.empty()) j["profile"] = r.profile_name;
  return j;
}

json usage_json(const GenerationResult& g) {
  const int64_t n = int64_t(g.tokens.size());
  return {{"prompt_tokens", g.prompt_tokens}, {"completion_tokens", n}, {"total_tokens", g.prompt_tokens + n}};
}

json envelope(const ServerContext& ctx, const GenerationRequest& r, const std::string& id, int64_t created,
              bool chunk) {
  const bool chat = r.endpoint == Endpoint::Chat;
  return {{"id", id},
          {"object", chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion"},
          {"created", created},
          {"model", ctx.model_id}};
}

}  // namespace

nlohmann::json response_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g,
                             const std::string& id, int64_t created) {
  json j = envelope(ctx, r, id, created, false);
  json choice = {{"index", 0}, {"finish_reason", g.finish_reason}, {"logprobs", logprobs_json(ctx, r, g)}};
  if (r.endpoint == Endpoint::Chat)
    choice["message"] = {{"role", "assistant"}, {"content", g.text}};
  else
    choice["text"] = g.text;
  j["choices"] = json::array({choice});
  j["usage"] = usage_json(g);
  j["glassbox"] = extension_json(r, g);
  return j;
}

nlohmann::json delta_chunk_json(const ServerContext& ctx, const GenerationRequest& r, const std::string& delta,
                                bool first, const std::string& id, int64_t created) {
  json j = envelope(ctx, r, id, created, true);
  json choice = {{"index", 0}, {"finish_reason", nullptr}, {"logprobs", nullptr}};
  if (r.endpoint == Endpoint::Chat) {
    choice["delta"] = {{"content", delta}};
    if (first) choice["delta"]["role"] = "assistant";
  } else {
    choice["text"] = delta;
  }
  j["choices"] = json::array({choice});
  return j;
}

nlohmann::json final_chunk_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g,
                                const std::string& id, int64_t created) {
  json j = envelope(ctx, r, id, created, true);
  json choice = {{"index", 0}, {"finish_reason", g.finish_reason}, {"logprobs", logprobs_json(ctx, r, g)}};
  if (r.endpoint == Endpoint::Chat)
    choice["delta"] = json::object();
  else
    choice["text"] = "";
  j["choices"] = json::array({choice});
  j["glassbox"] = extension_json(r, g);
  return j;
}

nlohmann::json usage_chunk_json(const ServerContext& ctx, const GenerationRequest& r, const GenerationResult& g,
                                const std::string& id, int64_t created) {
  json j = envelope(ctx, r, id, created, true);
  j["choices"] = json::array();
  j["usage"] = usage_json(g);
  return j;
}

nlohmann::json complete(const ServerContext& ctx, const nlohmann::json& body, Endpoint ep, const std::string& id,
                        int64_t created) {
  const GenerationRequest r = parse_generation_request(ctx, body, ep);
  return response_json(ctx, r, run_generation(ctx, r), id, created);
}

}  // namespace glassbox::server
