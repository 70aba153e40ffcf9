// The explainer and simulator prompts (after Bills et al. 2023's) and the
// strict reading of the model's replies.
#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/features/openai_client.h"

namespace glassbox::features {

namespace {

constexpr const char* kPreamble =
    "We're studying neurons in a neural network. Each neuron looks for some particular thing in a short "
    "document. ";
constexpr const char* kFormat =
    "The activation format is token<tab>activation. Activation values range from 0 to 10. A neuron finding what "
    "it's looking for is represented by a non-zero activation value. The higher the activation value, the "
    "stronger the match.";

// A token on one line: tabs and newlines spelled out so the format holds.
std::string show(const std::string& tok) {
  std::string s;
  for (char c : tok) s += c == '\t' ? std::string("\\t") : c == '\n' ? std::string("\\n") : std::string(1, c);
  return s;
}

std::string record_block(const ActivationRecord& r, double max_act) {
  std::string s = "<start>\n";
  for (size_t t = 0; t < r.tokens.size(); ++t) {
    const long a = max_act > 0 ? std::lround(std::clamp(double(r.acts[t]) / max_act, 0.0, 1.0) * 10) : 0;
    s += show(r.tokens[t]) + "\t" + (max_act < 0 ? std::string("unknown") : std::to_string(a)) + "\n";
  }
  return s + "<end>\n";
}

nlohmann::json messages(const std::string& system, const std::string& user) {
  return nlohmann::json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}});
}

}  // namespace

nlohmann::json explainer_messages(const FeatureExamples& train, int max_records) {
  double max_act = 0;
  for (const ActivationRecord& r : train.top) max_act = std::max(max_act, double(r.max_act()));
  std::string user = "Neuron " + std::to_string(train.feature) + "\nActivations:\n";
  for (size_t i = 0; i < train.top.size() && int(i) < max_records; ++i) user += record_block(train.top[i], max_act);
  user += "\nExplanation of neuron " + std::to_string(train.feature) + " behavior: the main thing this neuron does is find";
  return messages(std::string(kPreamble) +
                      "Look at the parts of the document the neuron activates for and summarize in a single sentence "
                      "what the neuron is looking for, naming the tokens it responds to.\n\n" + kFormat +
                      "\n\nAnswer with a JSON object {\"explanation\": \"...\"} and nothing else.",
                  user);
}

nlohmann::json simulator_messages(const Explanation& e, const std::vector<ActivationRecord>& records) {
  std::string user = "Neuron 1\nExplanation of neuron 1 behavior: the main thing this neuron does is find " + e.text + "\n";
  for (size_t i = 0; i < records.size(); ++i) user += "\nText " + std::to_string(i + 1) + ":\n" + record_block(records[i], -1);
  return messages(std::string(kPreamble) +
                      "Look at an explanation of what the neuron does, and try to predict its activations on each "
                      "token.\n\n" + kFormat + " \"unknown\" indicates an unknown activation. Most activations will be 0.\n\n"
                      "Answer with a JSON object {\"activations\": [[...], ...]} and nothing else: one list per text, "
                      "in order, holding one number from 0 to 10 per token of that text.",
                  user);
}

Explanation ChatExplainer::explain(const FeatureExamples& ex) const {
  const std::string what = "chat explainer (" + ep_.url + ", feature " + std::to_string(ex.feature) + ")";
  const nlohmann::json j = parse_json_reply(chat_completion(ep_, explainer_messages(split_examples(ex).train, ep_.max_records)), what);
  if (!j.contains("explanation") || !j["explanation"].is_string() || j["explanation"].get<std::string>().empty())
    fail(what, ": the reply has no non-empty \"explanation\" string: ", j.dump());
  Explanation e;
  e.feature = ex.feature;
  e.text = j["explanation"].get<std::string>();
  e.explainer = "llm:" + ep_.model;
  return e;
}

std::vector<std::vector<float>> ChatSimulator::simulate(const Explanation& e,
                                                        const std::vector<ActivationRecord>& records) const {
  const std::string what = "chat simulator (" + ep_.url + ")";
  const nlohmann::json j = parse_json_reply(chat_completion(ep_, simulator_messages(e, records)), what);
  if (!j.contains("activations") || !j["activations"].is_array() || j["activations"].size() != records.size())
    fail(what, ": the reply needs \"activations\": one list per text (", records.size(), "): ", j.dump());
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < records.size(); ++i) {
    const nlohmann::json& a = j["activations"][i];
    if (!a.is_array() || a.size() != records[i].tokens.size())
      fail(what, ": text ", i + 1, " has ", records[i].tokens.size(), " tokens but the reply gives ",
           a.is_array() ? std::to_string(a.size()) : std::string("no list of"), " activations");
    std::vector<float> v;
    for (const auto& x : a) {
      if (!x.is_number() || !std::isfinite(x.get<double>()) || x.get<double>() < 0 || x.get<double>() > 10)
        fail(what, ": text ", i + 1, ": activation ", x.dump(), " is not a number from 0 to 10");
      v.push_back(x.get<float>());
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace glassbox::features
