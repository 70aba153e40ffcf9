// The analysis endpoints: the CLI's cache, lens, dla and patch on the served
// model, each in an Engine of its own, answering the JSON the CLI prints
// with --json (field names as its flags).
#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/analysis/patching_compare.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "glassbox/server/api.h"
#include "glassbox/sites.h"
#include "glassbox/tokenizer.h"
#include "server/request_fields.h"

namespace glassbox::server {

namespace {

using nlohmann::json;

int64_t input_limit(const ServerContext& ctx) {
  const int64_t n_ctx = ctx.model->config().n_ctx;
  return ctx.limits.max_prompt_tokens > 0 ? std::min(ctx.limits.max_prompt_tokens, n_ctx) : n_ctx;
}

void require_object(const json& body) {
  if (!body.is_object()) fail("body: expected a JSON object, got ", fields::show(body));
}

json token_strings(const Model& m, const std::vector<int32_t>& ids) {
  if (!m.tokenizer()) return nullptr;
  json out = json::array();
  for (int32_t id : ids) out.push_back(m.tokenizer()->token_to_bytes(id));
  return out;
}

std::vector<int64_t> int_list(const json& v, const std::string& field) {
  if (!v.is_array()) fail(field, ": expected a list of integers, got ", fields::show(v));
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.push_back(fields::integer(v[i], field + "[" + std::to_string(i) + "]", -(int64_t(1) << 40), int64_t(1) << 40));
  return out;
}

// The value of an enumerated field, spelled as the library spells it.
template <class E>
E choice(const json& v, const std::string& field) {
  const std::string s = fields::string(v, field);
  try {
    return from_string<E>(s);
  } catch (const Error& e) {
    fail(field, ": ", e.what());
  }
}

}  // namespace

nlohmann::json cache_json(const ServerContext& ctx, const nlohmann::json& body) {
  require_object(body);
  fields::check_known(body, {"model", "prompt", "tokens", "names", "hooks", "positions"}, "");
  const Model& m = *ctx.model;
  const std::vector<int32_t> ids = fields::input_tokens(m, body, "prompt", "tokens", input_limit(ctx));
  const json* names = fields::find(body, "names");
  const char* names_key = "names";
  if (const json* hooks = fields::find(body, "hooks")) {
    if (names) fail("hooks: give names or its alias hooks, not both");
    names = hooks, names_key = "hooks";
  }
  if (!names) fail("names: missing: the hook names or globs to return, e.g. [\"blocks.0.attn.hook_pattern\"]");
  CacheOptions co;
  co.names = fields::strings(*names, names_key);
  if (co.names.empty()) fail(names_key, ": an empty list");
  for (size_t i = 0; i < co.names.size(); ++i) {
    try {
      match_hooks(co.names[i], m.config());
    } catch (const Error& e) {
      fail(names_key, "[", i, "]: ", e.what());
    }
  }
  if (const json* p = fields::find(body, "positions")) {
    co.positions = int_list(*p, "positions");
    for (size_t i = 0; i < co.positions.size(); ++i)
      if (co.positions[i] >= int64_t(ids.size()) || co.positions[i] < -int64_t(ids.size()))
        fail("positions[", i, "]: ", co.positions[i], " is out of range for ", ids.size(), " tokens");
  }
  // The library refuses before running when the cache alone would exceed this.
  co.max_memory = size_t(ctx.limits.max_cache_values) * sizeof(float) * 4 + (size_t(64) << 20);
  Engine e(m);
  const ActivationCache c = run_with_cache(e, Batch::single(ids), co);
  int64_t values = 0;
  for (const auto& [name, t] : c.entries) values += t.numel();
  if (values > ctx.limits.max_cache_values)
    fail(names_key, ": the selected activations hold ", values, " values, more than one answer may carry (",
         ctx.limits.max_cache_values, "); select fewer hooks or positions");
  json tensors = json::array();
  size_t total = 0;
  for (const auto& [name, t] : c.entries) {
    const float* x = t.f32();
    total += t.nbytes();
    tensors.push_back({{"name", name},
                       {"shape", t.shape},
                       {"dtype", "f32"},
                       {"bytes", t.nbytes()},
                       {"data", std::vector<float>(x, x + t.numel())}});
  }
  return {{"tokens", ids}, {"token_strings", token_strings(m, ids)}, {"n_tensors", c.entries.size()},
          {"total_bytes", total}, {"tensors", tensors}};
}

nlohmann::json lens_json(const ServerContext& ctx, const nlohmann::json& body) {
  require_object(body);
  fields::check_known(body, {"model", "prompt", "tokens", "target", "top_k"}, "");
  const Model& m = *ctx.model;
  const std::vector<int32_t> ids = fields::input_tokens(m, body, "prompt", "tokens", input_limit(ctx));
  analysis::LogitLensOptions lo;
  lo.top_k = 3;  // the CLI's default
  if (const json* k = fields::find(body, "top_k")) lo.top_k = int(fields::integer(*k, "top_k", 1, 100));
  if (const json* t = fields::find(body, "target")) lo.targets = {fields::single_token(m, *t, "target")};
  Engine e(m);
  json j = analysis::logit_lens(e, Batch::single(ids), lo).to_json();
  j["token_strings"] = token_strings(m, ids);
  return j;
}

nlohmann::json dla_json(const ServerContext& ctx, const nlohmann::json& body) {
  require_object(body);
  fields::check_known(body, {"model", "prompt", "tokens", "answer", "wrong", "pos"}, "");
  const Model& m = *ctx.model;
  const std::vector<int32_t> ids = fields::input_tokens(m, body, "prompt", "tokens", input_limit(ctx));
  analysis::DlaOptions d;
  const json* answer = fields::find(body, "answer");
  if (!answer) fail("answer: missing: the token whose logit is attributed (an id or the text of one token)");
  d.answer = {fields::single_token(m, *answer, "answer")};
  if (const json* w = fields::find(body, "wrong")) d.wrong = {fields::single_token(m, *w, "wrong")};
  const int64_t T = int64_t(ids.size());
  if (const json* p = fields::find(body, "pos")) d.pos = fields::integer(*p, "pos", -T, T - 1);
  Engine e(m);
  return analysis::direct_logit_attribution(e, Batch::single(ids), d).to_json();
}

nlohmann::json patch_json(const ServerContext& ctx, const nlohmann::json& body) {
  require_object(body);
  fields::check_known(body, {"model", "clean", "corrupt", "clean_tokens", "corrupt_tokens", "answer", "wrong",
                             "metric", "sites", "method", "direction", "raw"},
                      "");
  const Model& m = *ctx.model;
  const int64_t limit = input_limit(ctx);
  const std::vector<int32_t> clean = fields::input_tokens(m, body, "clean", "clean_tokens", limit);
  const std::vector<int32_t> corrupt = fields::input_tokens(m, body, "corrupt", "corrupt_tokens", limit);
  if (clean.size() != corrupt.size())
    fail("corrupt: the clean prompt is ", clean.size(), " tokens and the corrupted one ", corrupt.size(),
         "; patching compares positions, so they must have the same length");
  analysis::PatchingOptions po;
  if (const json* v = fields::find(body, "metric")) po.metric.kind = choice<analysis::MetricKind>(*v, "metric");
  const json* answer = fields::find(body, "answer");
  if (!answer) fail("answer: missing: the clean answer token (an id or the text of one token)");
  po.metric.answer = {fields::single_token(m, *answer, "answer")};
  if (po.metric.kind == analysis::MetricKind::LogitDiff) {
    const json* wrong = fields::find(body, "wrong");
    if (!wrong) fail("wrong: missing: metric logit_diff needs the corrupted answer (or choose \"metric\": \"logit\")");
    po.metric.wrong = {fields::single_token(m, *wrong, "wrong")};
  }
  if (const json* v = fields::find(body, "raw")) po.metric.normalize = !fields::boolean(*v, "raw");
  if (const json* v = fields::find(body, "direction")) po.direction = choice<analysis::PatchDirection>(*v, "direction");
  std::string method = "activation";
  if (const json* v = fields::find(body, "method")) method = fields::string(*v, "method");
  if (method != "activation" && method != "attribution" && method != "both")
    fail("method: expected activation, attribution or both, got '", method, "' (path patching: the CLI)");
  std::vector<std::string> site_names = {"resid_pre", "attn_out", "mlp_out", "z"};  // the CLI's default
  if (const json* v = fields::find(body, "sites")) {
    site_names = fields::strings(*v, "sites");
    if (site_names.size() == 1 && site_names[0].find(',') != std::string::npos) {  // "resid_pre,z" as the flag
      const std::string s = site_names[0];
      site_names.clear();
      for (size_t a = 0, b; a <= s.size(); a = b + 1) {
        b = std::min(s.find(',', a), s.size());
        site_names.push_back(s.substr(a, b - a));
      }
    }
  }
  std::vector<Site> sites;
  for (size_t i = 0; i < site_names.size(); ++i)
    sites.push_back(analysis::parse_patch_site(site_names[i], "sites[" + std::to_string(i) + "]"));
  if (sites.empty()) fail("sites: an empty list");

  Engine e(m);
  const analysis::PatchRun run = analysis::run_patching(e, Batch::single(clean), Batch::single(corrupt), sites, po,
                                                        method != "attribution", method != "activation");
  json out = {{"clean_tokens", clean}, {"corrupt_tokens", corrupt}, {"metric", po.metric.to_json()},
              {"grids", json::array()}};
  for (const auto& g : run.grids()) out["grids"].push_back(g.to_json());
  if (method == "both") out["correlation"] = run.correlation;
  return out;
}

}  // namespace glassbox::server
