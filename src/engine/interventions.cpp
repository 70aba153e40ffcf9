#include "glassbox/interventions.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "glassbox/error.h"
#include "glassbox/json_file.h"

#include "core/json_integer_read.h"

namespace glassbox {

namespace {

// Axes of an activation: which is batch, position, head, and how many floats per
// (batch, pos, head) cell. Per-head sites: [B, T, H, X] or [B, H, Tq, Tk].
struct Layout {
  int64_t B, T, H, inner;
  bool head_major;  // [B, H, T, X] (attention scores / pattern)
};

Layout layout_of(const TensorView& a, Site s) {
  const Shape& sh = a.shape;
  if (site_info(s).shape == SiteShape::Scores) return {sh[0], sh[2], sh[1], sh[3], true};
  if (sh.size() == 4) return {sh[0], sh[1], sh[2], sh[3], false};
  return {sh[0], sh[1], 1, sh[2], false};
}

// Calls fn(cell pointer, b, t, h) for every selected cell.
template <class Fn>
void for_cells(const TensorView& a, const HookContext& ctx, const Intervention& iv, Fn fn) {
  const Layout L = layout_of(a, ctx.point.site);
  std::vector<uint8_t> pos_on(size_t(L.T), iv.positions.empty());
  for (int64_t p : iv.positions) {
    // Non-negative: absolute token position; negative: from the end of this pass.
    const int64_t t = p >= 0 ? p - ctx.pos_offset : L.T + p;
    if (t >= 0 && t < L.T) pos_on[size_t(t)] = 1;
  }
  std::vector<uint8_t> head_on(size_t(L.H), iv.heads.empty());
  for (int h : iv.heads) {
    if (h < 0 || h >= L.H)
      fail("intervention on '", ctx.point.name(), "': head ", h, " is out of range (", L.H, " heads)");
    head_on[size_t(h)] = 1;
  }
  for (int64_t b = 0; b < L.B; ++b)
    for (int64_t t = 0; t < L.T; ++t) {
      if (!pos_on[size_t(t)]) continue;
      for (int64_t h = 0; h < L.H; ++h) {
        if (!head_on[size_t(h)]) continue;
        const int64_t off = L.head_major ? ((b * L.H + h) * L.T + t) * L.inner : ((b * L.T + t) * L.H + h) * L.inner;
        fn(a.data + off, b, t, h, L);
      }
    }
}

void check_vector(const Intervention& iv, const HookContext& ctx, int64_t inner) {
  if (int64_t(iv.vector.size()) != inner)
    fail("intervention ", to_string(iv.kind), " on '", ctx.point.name(), "': vector has ", iv.vector.size(),
         " entries, the site's last dimension is ", inner);
}

const Tensor& source_tensor(const Intervention& iv, const HookContext& ctx) {
  if (!iv.source_cache)
    fail("intervention ", to_string(iv.kind), " on '", ctx.point.name(), "' needs a source cache (\"source\")");
  return (*iv.source_cache)[ctx.point.name()];
}

// Rows the dictionary reads: one per selected cell, or, for a per-head site
// whose dictionary spans all heads (an SAE on hook_z, d_in = H * d_head), one
// per selected position with every head.
std::vector<float*> codec_rows(const Intervention& iv, TensorView& a, const HookContext& ctx) {
  const int64_t d_in = iv.codec->d_in();
  const Layout L = layout_of(a, ctx.point.site);
  std::vector<float*> rows;
  if (L.inner == d_in) {
    for_cells(a, ctx, iv, [&](float* x, int64_t, int64_t, int64_t, const Layout&) { rows.push_back(x); });
  } else if (L.H > 1 && !L.head_major && iv.heads.empty() && L.H * L.inner == d_in) {
    for_cells(a, ctx, iv, [&](float* x, int64_t, int64_t, int64_t h, const Layout&) {
      if (h == 0) rows.push_back(x);
    });
  } else {
    fail("intervention sae on '", ctx.point.name(), "': the dictionary reads ", d_in,
         " values per row, the site gives ", L.inner, L.H > 1 ? " per head" : "", " (", shape_str(a.shape), ")");
  }
  return rows;
}

void apply_codec(const Intervention& iv, TensorView& a, const HookContext& ctx) {
  if (!iv.codec) fail("intervention sae on '", ctx.point.name(), "' has no dictionary (\"sae\")");
  const std::vector<float*> rows = codec_rows(iv, a, ctx);
  const int64_t n = int64_t(rows.size()), d = iv.codec->d_in(), m = iv.codec->n_latents();
  if (n == 0) return;
  for (int64_t j : iv.latents)
    if (j < 0 || j >= m) fail("intervention sae on '", ctx.point.name(), "': latent ", j, " is out of range (", m, " latents)");
  std::vector<float> x(size_t(n * d)), f(size_t(n * m)), x_hat(size_t(n * d)), y(size_t(n * d));
  for (int64_t r = 0; r < n; ++r) std::copy(rows[size_t(r)], rows[size_t(r)] + d, x.begin() + r * d);
  iv.codec->encode(x.data(), n, f.data());
  // The error term is measured against the unedited reconstruction, so an edit
  // changes only what the edited latents write.
  if (iv.keep_error) iv.codec->decode(f.data(), n, x_hat.data());
  auto edit = [&](float& v) {
    switch (iv.edit) {
      case LatentEdit::None: break;
      case LatentEdit::Zero: v = 0.f; break;
      case LatentEdit::Scale: v *= iv.value; break;
      case LatentEdit::Clamp: v = iv.value; break;
    }
  };
  for (int64_t r = 0; r < n; ++r) {
    float* fr = f.data() + r * m;
    if (iv.latents.empty())
      for (int64_t j = 0; j < m; ++j) edit(fr[j]);
    else
      for (int64_t j : iv.latents) edit(fr[j]);
  }
  iv.codec->decode(f.data(), n, y.data());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < d; ++k) {
      const size_t i = size_t(r * d + k);
      rows[size_t(r)][k] = iv.keep_error ? y[i] + (x[i] - x_hat[i]) : y[i];
    }
}

void apply(const Intervention& iv, TensorView& a, const HookContext& ctx) {
  switch (iv.kind) {
    case InterventionKind::Sae:
      apply_codec(iv, a, ctx);
      break;
    case InterventionKind::ZeroAblate:
      for_cells(a, ctx, iv, [](float* x, int64_t, int64_t, int64_t, const Layout& L) {
        std::fill(x, x + L.inner, 0.f);
      });
      break;
    case InterventionKind::AddVector:
      for_cells(a, ctx, iv, [&](float* x, int64_t, int64_t, int64_t, const Layout& L) {
        check_vector(iv, ctx, L.inner);
        for (int64_t j = 0; j < L.inner; ++j) x[j] += iv.alpha * iv.vector[size_t(j)];
      });
      break;
    case InterventionKind::ProjectOut: {
      double nn = 0;
      for (float v : iv.vector) nn += double(v) * v;
      if (nn == 0) fail("intervention project_out on '", ctx.point.name(), "': direction is zero");
      const double inv = 1.0 / std::sqrt(nn);
      for_cells(a, ctx, iv, [&](float* x, int64_t, int64_t, int64_t, const Layout& L) {
        check_vector(iv, ctx, L.inner);
        double dot = 0;
        for (int64_t j = 0; j < L.inner; ++j) dot += double(x[j]) * iv.vector[size_t(j)] * inv;
        for (int64_t j = 0; j < L.inner; ++j) x[j] -= float(dot * iv.vector[size_t(j)] * inv);
      });
      break;
    }
    case InterventionKind::Patch: {
      const Tensor& src = source_tensor(iv, ctx);
      const std::vector<float> s = src.to_f32_vector();
      const Layout S = layout_of(TensorView{nullptr, src.shape}, ctx.point.site);
      for_cells(a, ctx, iv, [&](float* x, int64_t b, int64_t t, int64_t h, const Layout& L) {
        // A source of batch 1 broadcasts over the batch; positions are matched one to one.
        const int64_t sb = S.B == 1 ? 0 : b, st = t + ctx.pos_offset;
        if (sb >= S.B || st >= S.T || S.H != L.H || S.inner != L.inner)
          fail("intervention patch on '", ctx.point.name(), "': source ", shape_str(src.shape),
               " does not cover activation ", shape_str(a.shape), " at position ", st);
        const int64_t off = S.head_major ? ((sb * S.H + h) * S.T + st) * S.inner : ((sb * S.T + st) * S.H + h) * S.inner;
        std::copy(s.begin() + off, s.begin() + off + L.inner, x);
      });
      break;
    }
    case InterventionKind::MeanAblate: {
      const Tensor& src = source_tensor(iv, ctx);
      const std::vector<float> s = src.to_f32_vector();
      const Layout S = layout_of(TensorView{nullptr, src.shape}, ctx.point.site);
      // Mean over batch and positions, per head and feature.
      std::vector<double> mean(size_t(S.H * S.inner), 0.0);
      for (int64_t b = 0; b < S.B; ++b)
        for (int64_t t = 0; t < S.T; ++t)
          for (int64_t h = 0; h < S.H; ++h) {
            const int64_t off = S.head_major ? ((b * S.H + h) * S.T + t) * S.inner : ((b * S.T + t) * S.H + h) * S.inner;
            for (int64_t j = 0; j < S.inner; ++j) mean[size_t(h * S.inner + j)] += s[size_t(off + j)];
          }
      for (double& m : mean) m /= double(S.B * S.T);
      for_cells(a, ctx, iv, [&](float* x, int64_t, int64_t, int64_t h, const Layout& L) {
        if (S.H != L.H || S.inner != L.inner)
          fail("intervention mean_ablate on '", ctx.point.name(), "': source ", shape_str(src.shape),
               " does not match activation ", shape_str(a.shape));
        for (int64_t j = 0; j < L.inner; ++j) x[j] = float(mean[size_t(h * L.inner + j)]);
      });
      break;
    }
  }
}

}  // namespace

nlohmann::json Intervention::to_json() const {
  nlohmann::json j{{"type", to_string(kind)}, {"hook", hook}};
  if (!positions.empty()) j["positions"] = positions;
  if (!heads.empty()) j["heads"] = heads;
  if (!vector.empty()) j["vector"] = vector;
  if (kind == InterventionKind::AddVector) j["alpha"] = alpha;
  if (!source.empty()) j["source"] = source;
  if (kind == InterventionKind::Sae) {
    if (!sae.empty()) j["sae"] = sae;
    if (!latents.empty()) j["latents"] = latents;
    j["edit"] = to_string(edit);
    if (edit == LatentEdit::Scale || edit == LatentEdit::Clamp) j["value"] = value;
    j["keep_error"] = keep_error;
  }
  return j;
}

namespace {
constexpr enum_table::Names<InterventionKind, 6> kKindNames = {
    {InterventionKind::Patch, "patch"},           {InterventionKind::ZeroAblate, "zero_ablate"},
    {InterventionKind::MeanAblate, "mean_ablate"}, {InterventionKind::AddVector, "add_vector"},
    {InterventionKind::ProjectOut, "project_out"}, {InterventionKind::Sae, "sae"}};
constexpr enum_table::Names<LatentEdit, 4> kEditNames = {
    {LatentEdit::None, "none"}, {LatentEdit::Zero, "zero"}, {LatentEdit::Scale, "scale"}, {LatentEdit::Clamp, "clamp"}};
}  // namespace

const char* to_string(LatentEdit e) { return enum_table::name(e, kEditNames); }
template <>
LatentEdit from_string<LatentEdit>(std::string_view s) {
  return enum_table::value(s, kEditNames, "latent edit");
}

const char* to_string(InterventionKind k) { return enum_table::name(k, kKindNames); }
template <>
InterventionKind from_string<InterventionKind>(std::string_view s) {
  return enum_table::value(s, kKindNames, "intervention type");
}

Intervention Intervention::from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("intervention: expected a JSON object, got ", j.dump());
  Intervention iv;
  auto field = [&](const char* key) -> const nlohmann::json* { return j.contains(key) ? &j[key] : nullptr; };
  const auto* type = field("type");
  if (!type || !type->is_string()) fail("intervention: missing string field \"type\" in ", j.dump());
  iv.kind = from_string<InterventionKind>(type->get<std::string>());
  const auto* hook = field("hook");
  if (!hook || !hook->is_string()) fail("intervention: missing string field \"hook\" in ", j.dump());
  iv.hook = hook->get<std::string>();
  const std::string where = "intervention on '" + iv.hook + "'";
  try {
    // Integers checked: get<int>() of 1e300 is undefined behaviour, not an error.
    if (auto* p = field("positions")) iv.positions = detail::json_integers<int64_t>(*p, where + ": \"positions\"");
    if (auto* h = field("heads")) iv.heads = detail::json_integers<int>(*h, where + ": \"heads\"");
    if (auto* v = field("vector")) iv.vector = v->get<std::vector<float>>();
    if (auto* a = field("alpha")) iv.alpha = a->get<float>();
    if (auto* s = field("source")) iv.source = s->get<std::string>();
    if (auto* s = field("sae")) iv.sae = s->get<std::string>();
    if (auto* l = field("latents")) iv.latents = detail::json_integers<int64_t>(*l, where + ": \"latents\"");
    if (auto* e = field("edit")) iv.edit = from_string<LatentEdit>(e->get<std::string>());
    if (auto* v = field("value")) iv.value = v->get<float>();
    if (auto* k = field("keep_error")) iv.keep_error = k->get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail("intervention on '", iv.hook, "': a field has the wrong type (", e.what(), ")");
  }
  // 1e300 in a float field reads as inf: a silently wrong run, not a value.
  for (float x : iv.vector)
    if (!std::isfinite(x)) fail(where, ": \"vector\" holds a value that is not a finite float");
  if (!std::isfinite(iv.alpha)) fail(where, ": \"alpha\" is not a finite float");
  if (!std::isfinite(iv.value)) fail(where, ": \"value\" is not a finite float");
  const bool needs_vector = iv.kind == InterventionKind::AddVector || iv.kind == InterventionKind::ProjectOut;
  if (needs_vector && iv.vector.empty()) fail("intervention ", type->get<std::string>(), " on '", iv.hook, "' needs \"vector\"");
  const bool needs_source = iv.kind == InterventionKind::Patch || iv.kind == InterventionKind::MeanAblate;
  if (needs_source && iv.source.empty()) fail("intervention ", type->get<std::string>(), " on '", iv.hook, "' needs \"source\" (a cache file)");
  if (iv.kind == InterventionKind::Sae && iv.sae.empty())
    fail("intervention sae on '", iv.hook, "' needs \"sae\" (a dictionary directory)");
  if (iv.kind == InterventionKind::Sae && !iv.latents.empty() && iv.edit == LatentEdit::None)
    fail("intervention sae on '", iv.hook, "' names \"latents\" but no \"edit\" (zero, scale or clamp)");
  return iv;
}

std::vector<Intervention> interventions_from_json(const nlohmann::json& j, const std::string& base_dir,
                                                  const CodecLoader& load_codec) {
  std::vector<Intervention> out;
  const nlohmann::json list = j.is_array() ? j : nlohmann::json::array({j});
  std::map<std::string, std::shared_ptr<const ActivationCache>> loaded;
  std::map<std::string, std::shared_ptr<const LatentCodec>> codecs;
  auto resolve = [&](const std::string& name) {
    std::filesystem::path p(name);
    if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
    return p.string();
  };
  for (const auto& item : list) {
    Intervention iv = Intervention::from_json(item);
    if (!iv.source.empty()) {
      const std::string p = resolve(iv.source);
      auto& c = loaded[p];
      if (!c) c = std::make_shared<const ActivationCache>(ActivationCache::load(p));
      iv.source_cache = c;
    }
    if (!iv.sae.empty()) {
      if (!load_codec) fail("intervention sae on '", iv.hook, "': no dictionary loader here (use features::load_interventions)");
      const std::string p = resolve(iv.sae);
      auto& c = codecs[p];
      if (!c) c = load_codec(p);
      iv.codec = c;
    }
    out.push_back(std::move(iv));
  }
  return out;
}

std::vector<Intervention> load_interventions(const std::string& path, const CodecLoader& load_codec) {
  const nlohmann::json j = read_json_file(path);
  try {
    return interventions_from_json(j, std::filesystem::path(path).parent_path().string(), load_codec);
  } catch (const Error& e) {
    fail(path, ": ", e.what());
  }
}

nlohmann::json interventions_to_json(const std::vector<Intervention>& xs) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& x : xs) j.push_back(x.to_json());
  return j;
}

std::vector<HookHandle> attach(HookRegistry& reg, const std::vector<Intervention>& xs) {
  std::vector<HookHandle> hs;
  for (const Intervention& iv : xs) {
    const auto pts = match_hooks(iv.hook, reg.config());
    for (const HookPoint& p : pts)
      if (!iv.heads.empty() && !site_has_heads(p.site))
        fail("intervention on '", p.name(), "': \"heads\" needs a per-head site (q, k, v, z, result, pattern, attn_scores)");
    auto shared = std::make_shared<Intervention>(iv);
    hs.push_back(reg.add(iv.hook, [shared](TensorView& a, const HookContext& ctx) { apply(*shared, a, ctx); },
                         HookMode::Replace));
  }
  return hs;
}

}  // namespace glassbox
