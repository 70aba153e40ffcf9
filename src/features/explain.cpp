// The built-in explainer: enrichment of activating tokens (and of the token
// before them) over their base rate, chosen greedily to cover the activation.
#include "glassbox/features/explain.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "glassbox/error.h"

#include "core/json_integer_read.h"

namespace glassbox::features {

namespace {

// Every token position the explainer sees, with its activation as a fraction of the max.
struct Position {
  const std::string* token;
  const std::string* previous;  // null at the start of a context
  double act;                   // 0 where inactive
};

std::vector<Position> positions(const FeatureExamples& ex, double max_act) {
  std::vector<Position> out;
  for (const auto* list : {&ex.top, &ex.quantiles, &ex.random})
    for (const ActivationRecord& r : *list)
      for (size_t t = 0; t < r.tokens.size() && t < r.acts.size(); ++t)
        out.push_back({&r.tokens[t], t ? &r.tokens[t - 1] : nullptr, r.acts[t] > 0 ? double(r.acts[t]) / max_act : 0});
  return out;
}

// A candidate pattern and the positions it matches. key: (previous, token);
// an empty token = any token after `previous`; no previous = any context.
struct Candidate {
  TokenPattern pattern;
  int64_t total = 0, active = 0;
  double mass = 0;
  std::vector<size_t> active_positions;
};

using Key = std::tuple<int, std::string, std::string>;  // kind (0 token, 1 bigram, 2 after), previous, token

std::map<Key, Candidate> candidates(const std::vector<Position>& pos) {
  std::map<Key, Candidate> c;
  auto add = [&](Key k, size_t i) {
    Candidate& cd = c[k];
    if (cd.total == 0) {
      cd.pattern.previous = std::get<1>(k);
      cd.pattern.token = std::get<2>(k);
    }
    ++cd.total;
    if (pos[i].act > 0) ++cd.active, cd.mass += pos[i].act, cd.active_positions.push_back(i);
  };
  // (An empty token or previous token spells "any" in a TokenPattern, so it
  // cannot be matched literally: such positions only count as inactive context.)
  for (size_t i = 0; i < pos.size(); ++i) {
    const bool has_token = !pos[i].token->empty(), has_prev = pos[i].previous && !pos[i].previous->empty();
    if (has_token) add({0, "", *pos[i].token}, i);
    if (has_token && has_prev) add({1, *pos[i].previous, *pos[i].token}, i);
    if (has_prev) add({2, *pos[i].previous, ""}, i);
  }
  return c;
}

// log odds of the pattern among active tokens minus among inactive ones, with
// a half-count prior so unseen cells stay finite.
double log_odds(const Candidate& c, int64_t n_active, int64_t n_inactive) {
  const double a = double(c.active), b = double(c.total - c.active);
  return std::log((a + 0.5) / (double(n_active) - a + 0.5)) - std::log((b + 0.5) / (double(n_inactive) - b + 0.5));
}

// Byte-level BPE tokens can be a fragment of a UTF-8 character; those bytes
// show as U+FFFD rather than failing the whole explanation.
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

ExampleSplit split_examples(const FeatureExamples& ex) {
  ExampleSplit s;
  s.train.feature = s.holdout.feature = ex.feature;
  s.train.density = s.holdout.density = ex.density;
  auto halve = [](const std::vector<ActivationRecord>& in, std::vector<ActivationRecord>& even,
                  std::vector<ActivationRecord>& odd) {
    for (size_t i = 0; i < in.size(); ++i) (i % 2 ? odd : even).push_back(in[i]);
  };
  halve(ex.top, s.train.top, s.holdout.top);
  halve(ex.quantiles, s.train.quantiles, s.holdout.quantiles);
  halve(ex.random, s.train.random, s.holdout.random);
  return s;
}

std::string describe_patterns(const std::vector<TokenPattern>& patterns) {
  if (patterns.empty()) return "no token pattern found";
  std::vector<std::string> tokens, rest;
  for (const TokenPattern& p : patterns) {
    if (p.previous.empty()) tokens.push_back(quoted(p.token));
    else if (p.token.empty()) rest.push_back("any token after " + quoted(p.previous));
    else rest.push_back(quoted(p.token) + " after " + quoted(p.previous));
  }
  std::string s;
  for (size_t i = 0; i < tokens.size(); ++i) s += (i ? ", " : (tokens.size() > 1 ? "tokens " : "token ")) + tokens[i];
  for (const std::string& r : rest) s += (s.empty() ? "" : "; ") + r;
  return s;
}

Explanation BuiltinExplainer::explain(const FeatureExamples& ex_all) const {
  const FeatureExamples ex = split_examples(ex_all).train;
  Explanation e;
  e.feature = ex.feature;
  e.explainer = "builtin";
  double max_act = 0;
  for (const auto* list : {&ex.top, &ex.quantiles, &ex.random})
    for (const ActivationRecord& r : *list) max_act = std::max(max_act, double(r.max_act()));
  if (max_act <= 0) {
    e.text = "never active in its examples";
    return e;
  }
  const std::vector<Position> pos = positions(ex, max_act);
  int64_t n_active = 0;
  double total_mass = 0;
  for (const Position& p : pos) n_active += p.act > 0, total_mass += p.act;
  const int64_t n_inactive = int64_t(pos.size()) - n_active;
  std::map<Key, Candidate> cands = candidates(pos);

  // Greedy cover: each round takes the pattern whose not-yet-covered activation
  // mass times precision is largest, so a plain token beats a bigram unless the
  // context is what separates active from inactive occurrences.
  std::vector<bool> covered(pos.size(), false);
  double covered_mass = 0;
  while (int(e.patterns.size()) < opt_.max_patterns && covered_mass < opt_.coverage * total_mass) {
    const Candidate* best = nullptr;
    double best_value = 0;
    for (const auto& [key, c] : cands) {
      if (c.active == 0 || log_odds(c, n_active, n_inactive) < opt_.min_log_odds) continue;
      double gain = 0;
      for (size_t i : c.active_positions) gain += covered[i] ? 0 : pos[i].act;
      const double value = gain * double(c.active) / double(c.total);
      if (value > best_value * (1 + 1e-9)) best_value = value, best = &c;
    }
    if (!best || best_value < 0.02 * total_mass) break;
    TokenPattern p = best->pattern;
    p.activation = best->mass / double(best->total);
    p.log_odds = log_odds(*best, n_active, n_inactive);
    p.matches = best->active;
    for (size_t i : best->active_positions)
      if (!covered[i]) covered[i] = true, covered_mass += pos[i].act;
    e.patterns.push_back(std::move(p));
  }
  e.text = describe_patterns(e.patterns);
  return e;
}

Explanation explain(const FeatureExamples& ex) { return BuiltinExplainer().explain(ex); }

nlohmann::json to_json(const Explanation& e) {
  nlohmann::json pats = nlohmann::json::array();
  for (const TokenPattern& p : e.patterns)
    pats.push_back({{"token", p.token},
                    {"previous", p.previous},
                    {"activation", p.activation},
                    {"log_odds", p.log_odds},
                    {"matches", p.matches}});
  return {{"feature", e.feature}, {"text", e.text}, {"explainer", e.explainer}, {"patterns", pats}};
}

Explanation explanation_from_json(const nlohmann::json& j) {
  Explanation e;
  try {
    if (!j.is_object()) fail("explanation: expected a JSON object, got ", j.type_name());
    e.text = j.at("text").get<std::string>();
    if (j.contains("feature")) e.feature = glassbox::detail::json_integer<int64_t>(j["feature"], "explanation: \"feature\"");
    e.explainer = j.value("explainer", std::string());
    for (const auto& p : j.value("patterns", nlohmann::json::array())) {
      TokenPattern t;
      t.token = p.value("token", std::string());
      t.previous = p.value("previous", std::string());
      t.activation = p.at("activation").get<double>();
      t.log_odds = p.value("log_odds", 0.0);
      if (p.contains("matches")) t.matches = glassbox::detail::json_integer<int64_t>(p["matches"], "explanation: pattern \"matches\"");
      if (t.token.empty() && t.previous.empty()) fail("explanation: a pattern needs a token or a previous token");
      e.patterns.push_back(std::move(t));
    }
  } catch (const nlohmann::json::exception& x) {
    fail("explanation: ", x.what());
  }
  return e;
}

}  // namespace glassbox::features
