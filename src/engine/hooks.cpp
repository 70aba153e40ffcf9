#include "glassbox/hooks.h"

#include <algorithm>

#include "glassbox/error.h"

namespace glassbox {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

[[noreturn]] void fail_unknown(const std::string& what, const std::string& name, const Config& c) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const HookPoint& p : all_hook_points(c)) scored.push_back({edit_distance(name, p.name()), p.name()});
  std::sort(scored.begin(), scored.end());
  std::string near;
  for (size_t i = 0; i < scored.size() && i < 3; ++i) near += (i ? ", " : "") + scored[i].second;
  fail(what, " '", name, "' matches no hook of this model (", c.n_layers, " layers); closest: ", near);
}

}  // namespace

const char* site_suffix(Site s) { return site_info(s).suffix.data(); }  // literals: NUL-terminated
const char* to_string(Site s) { return site_info(s).name.data(); }

template <>
Site from_string<Site>(std::string_view name) {
  std::string names;
  for (const SiteInfo& i : kSiteTable) {
    if (name == i.name || name == i.suffix) return i.site;
    names += (names.empty() ? "" : ", ") + std::string(i.name);
  }
  enum_table::unknown(name, "site", names);
}

std::string HookPoint::name() const {
  if (site_is_global(site)) return site_suffix(site);
  return "blocks." + std::to_string(layer) + "." + site_suffix(site);
}

bool site_exists(Site s, const Config& c) {
  if (s >= Site::COUNT) return false;
  const bool norm = c.norm != NormKind::None, mlp = !c.attn_only;
  switch (site_info(s).when) {
    case SiteWhen::Always: return true;
    case SiteWhen::LearnedPos: return c.positional == PosKind::Learned;
    case SiteWhen::Rotary: return c.positional == PosKind::Rotary;
    case SiteWhen::Norm: return norm;
    case SiteWhen::NormMlp: return norm && mlp;
    case SiteWhen::Mlp: return mlp;
    case SiteWhen::GatedMlp: return mlp && c.gated_mlp;
    case SiteWhen::SequentialMlp: return mlp && !c.parallel_residual;
    case SiteWhen::PostNorm: return norm && c.post_norms;
    case SiteWhen::PostNormMlp: return norm && mlp && c.post_norms;
  }
  return false;
}

Shape site_shape(Site s, const Config& c, int64_t B, int64_t Tq, int64_t Tk) {
  const int64_t d = c.d_model, H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head;
  switch (site_info(s).shape) {
    case SiteShape::Resid: return {B, Tq, d};
    case SiteShape::Scale: return {B, Tq, 1};
    case SiteShape::Heads: return {B, Tq, H, dh};
    case SiteShape::KvHeads: return {B, Tq, Hkv, dh};
    case SiteShape::Scores: return {B, H, Tq, Tk};
    case SiteShape::HeadOut: return {B, Tq, H, d};
    case SiteShape::Mlp: return {B, Tq, c.d_mlp};
  }
  return {};
}

bool site_needed_for_backward(Site s, const Config& c) {
  if (!site_exists(s, c)) return false;
  switch (site_info(s).backward) {
    case SiteBackward::No: return false;
    case SiteBackward::Yes: return true;
    case SiteBackward::WithoutRotary: return c.positional != PosKind::Rotary;
    case SiteBackward::WithoutNorm: return c.norm == NormKind::None;
  }
  return false;
}

namespace {
constexpr enum_table::Names<HookMode, 3> kHookModeNames = {
    {HookMode::Observe, "observe"}, {HookMode::Replace, "replace"}, {HookMode::Grad, "grad"}};
}  // namespace

const char* to_string(HookMode m) { return enum_table::name(m, kHookModeNames); }
template <>
HookMode from_string<HookMode>(std::string_view s) { return enum_table::value(s, kHookModeNames, "hook mode"); }

std::vector<HookPoint> all_hook_points(const Config& c) {
  std::vector<HookPoint> out;
  auto add = [&](Site s, int l) {
    if (site_exists(s, c)) out.push_back({s, l});
  };
  add(Site::embed, -1);
  add(Site::pos_embed, -1);
  for (int l = 0; l < c.n_layers; ++l)
    for (int s = int(Site::resid_pre); s <= int(Site::resid_post); ++s) add(Site(s), l);
  add(Site::ln_final_scale, -1);
  add(Site::ln_final_normalized, -1);
  return out;
}

HookPoint parse_hook_name(const std::string& name, const Config& c) {
  for (const SiteInfo& i : kSiteTable) {
    if (!i.global || name != i.suffix) continue;
    if (!site_exists(i.site, c)) fail_unknown("hook", name, c);
    return {i.site, -1};
  }
  // blocks.{l}.<suffix>
  if (name.rfind("blocks.", 0) == 0) {
    size_t i = 7, j = i;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
    if (j > i && j < name.size() && name[j] == '.' && j - i < 6) {
      const int layer = std::stoi(name.substr(i, j - i));
      const std::string suffix = name.substr(j + 1);
      for (const SiteInfo& i : kSiteTable) {
        if (i.global || suffix != i.suffix) continue;
        if (layer >= c.n_layers)
          fail("hook '", name, "': layer ", layer, " is out of range (model has ", c.n_layers, " layers)");
        if (!site_exists(i.site, c)) fail_unknown("hook", name, c);
        return {i.site, layer};
      }
    }
  }
  fail_unknown("hook", name, c);
}

bool glob_match(const std::string& p, const std::string& t) {
  // Iterative wildcard match with backtracking on the last '*'.
  size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi, ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++, mark = ti;
    } else if (star != std::string::npos) {
      pi = star + 1, ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<HookPoint> match_hooks(const std::string& pattern, const Config& c) {
  if (pattern.find_first_of("*?") == std::string::npos) return {parse_hook_name(pattern, c)};
  std::vector<HookPoint> out;
  for (const HookPoint& p : all_hook_points(c))
    if (glob_match(pattern, p.name())) out.push_back(p);
  if (out.empty()) fail_unknown("hook pattern", pattern, c);
  return out;
}

HookHandle& HookHandle::operator=(HookHandle&& o) noexcept {
  if (this != &o) {
    reset();
    reg_ = o.reg_;
    id_ = o.id_;
    o.reg_ = nullptr;
  }
  return *this;
}

void HookHandle::reset() {
  if (reg_) reg_->remove(id_);
  reg_ = nullptr;
}

HookHandle HookRegistry::add(const std::string& name_or_glob, HookFn fn, HookMode mode) {
  const uint64_t id = next_id_++;
  hooks_.push_back({id, match_hooks(name_or_glob, cfg_), std::move(fn), mode});
  return HookHandle(this, id);
}

HookHandle HookRegistry::add(HookPoint p, HookFn fn, HookMode mode) {
  if (!site_exists(p.site, cfg_)) fail("hook '", p.name(), "' does not exist in this architecture");
  if (site_is_global(p.site) ? p.layer != -1 : (p.layer < 0 || p.layer >= cfg_.n_layers))
    fail("hook '", p.name(), "': layer ", p.layer, " is out of range (model has ", cfg_.n_layers, " layers)");
  const uint64_t id = next_id_++;
  hooks_.push_back({id, {p}, std::move(fn), mode});
  return HookHandle(this, id);
}

void HookRegistry::remove(uint64_t id) {
  hooks_.erase(std::remove_if(hooks_.begin(), hooks_.end(), [&](const Entry& e) { return e.id == id; }),
               hooks_.end());
}

static bool covers(const std::vector<HookPoint>& pts, HookPoint p) {
  return std::find(pts.begin(), pts.end(), p) != pts.end();
}

bool HookRegistry::has(HookPoint p) const {
  for (const Entry& e : hooks_)
    if (e.mode != HookMode::Grad && covers(e.points, p)) return true;
  return false;
}

bool HookRegistry::has_grad(HookPoint p) const {
  for (const Entry& e : hooks_)
    if (e.mode == HookMode::Grad && covers(e.points, p)) return true;
  return false;
}

bool HookRegistry::any_grad() const {
  for (const Entry& e : hooks_)
    if (e.mode == HookMode::Grad) return true;
  return false;
}

void HookRegistry::fire_grad(HookPoint p, TensorView& grad) const {
  HookContext ctx{p, 0, &cfg_};
  for (const Entry& e : hooks_)
    if (e.mode == HookMode::Grad && covers(e.points, p)) e.fn(grad, ctx);
}

bool HookRegistry::has_replace(HookPoint p) const {
  for (const Entry& e : hooks_)
    if (e.mode == HookMode::Replace && covers(e.points, p)) return true;
  return false;
}

void HookRegistry::fire(HookPoint p, TensorView& act, int64_t pos_offset) const {
  HookContext ctx{p, pos_offset, &cfg_};
  for (HookMode mode : {HookMode::Replace, HookMode::Observe})
    for (const Entry& e : hooks_)
      if (e.mode == mode && covers(e.points, p)) e.fn(act, ctx);
}

}  // namespace glassbox
