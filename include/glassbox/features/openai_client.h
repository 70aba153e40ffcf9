// An explainer and a simulator served by a language model behind an
// OpenAI-compatible chat-completions endpoint (OpenAI, llama.cpp's server,
// vLLM, Ollama, ...): POST {url}/chat/completions. Prompts follow Bills et
// al. 2023 ("Language models can explain neurons in language models"): tokens
// listed one per line as token<TAB>activation, activations scaled to 0..10.
// The model must answer with a JSON object, which is parsed strictly: a reply
// that is not exactly what was asked for is an Error, never a guess.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/explain.h"
#include "glassbox/features/simulate.h"

namespace glassbox::features {

struct ChatEndpoint {
  std::string url;      // base URL with its version, "http://127.0.0.1:8080/v1"
  std::string api_key;  // sent as "Authorization: Bearer <key>" when not empty
  std::string model;    // the request's "model"
  double timeout_s = 60;  // connect, send and receive, each
  int max_records = 10;   // top records shown to the explainer
};

// The endpoint with its key read from the environment variable `api_key_env`
// (empty name: no key); Error naming the variable when it is unset.
ChatEndpoint chat_endpoint(const std::string& url, const std::string& model, const std::string& api_key_env = "");

// One chat-completions request (temperature 0, a JSON-object response format);
// returns choices[0].message.content. Error naming the URL on a bad URL,
// connection failure, timeout, non-2xx status (quoting the server's message),
// or a response that does not follow the chat-completions schema.
std::string chat_completion(const ChatEndpoint& ep, const nlohmann::json& messages);
// The JSON object in a model's reply: the whole reply, or one ```json fenced
// block; Error quoting the reply otherwise.
nlohmann::json parse_json_reply(const std::string& reply, const std::string& what);

// The prompts (system + user messages).
nlohmann::json explainer_messages(const FeatureExamples& train, int max_records);
nlohmann::json simulator_messages(const Explanation& e, const std::vector<ActivationRecord>& records);

// Explains split_examples(ex).train's top records; the reply must be
// {"explanation": "<one sentence>"}.
class ChatExplainer : public Explainer {
 public:
  explicit ChatExplainer(ChatEndpoint ep) : ep_(std::move(ep)) {}
  Explanation explain(const FeatureExamples& ex) const override;

 private:
  ChatEndpoint ep_;
};

// Simulates all records in one request ("all at once"); the reply must be
// {"activations": [[a, ...], ...]}: one list per record, one number in
// [0, 10] per token.
class ChatSimulator : public Simulator {
 public:
  explicit ChatSimulator(ChatEndpoint ep) : ep_(std::move(ep)) {}
  std::vector<std::vector<float>> simulate(const Explanation& e,
                                           const std::vector<ActivationRecord>& records) const override;

 private:
  ChatEndpoint ep_;
};

}  // namespace glassbox::features
