#include "glassbox/hooks.h"

#include <algorithm>

#include "glassbox/error.h"

namespace glassbox {

namespace {

struct SiteInfo {
  const char* suffix;
  bool global;
};
// Order matches enum Site.
constexpr SiteInfo kSites[kSiteCount] = {
    {"hook_embed", true},          {"hook_pos_embed", true},     {"hook_resid_pre", false},
    {"ln1.hook_scale", false},     {"ln1.hook_normalized", false}, {"attn.hook_q", false},
    {"attn.hook_k", false},        {"attn.hook_v", false},       {"attn.hook_rot_q", false},
    {"attn.hook_rot_k", false},    {"attn.hook_attn_scores", false}, {"attn.hook_pattern", false},
    {"attn.hook_z", false},        {"attn.hook_result", false},  {"hook_attn_out", false},
    {"hook_resid_mid", false},     {"ln2.hook_scale", false},    {"ln2.hook_normalized", false},
    {"mlp.hook_pre", false},       {"mlp.hook_pre_linear", false}, {"mlp.hook_post", false},
    {"hook_mlp_out", false},       {"hook_resid_post", false},   {"ln_final.hook_scale", true},
    {"ln_final.hook_normalized", true},
};

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

bool site_is_global(Site s) { return kSites[int(s)].global; }
const char* site_suffix(Site s) { return kSites[int(s)].suffix; }

std::string HookPoint::name() const {
  if (site_is_global(site)) return site_suffix(site);
  return "blocks." + std::to_string(layer) + "." + site_suffix(site);
}

bool site_exists(Site s, const Config& c) {
  const bool norm = c.norm != NormKind::None;
  const bool mlp = !c.attn_only;
  switch (s) {
    case Site::pos_embed: return c.positional == PosKind::Learned;
    case Site::ln1_scale: case Site::ln1_normalized: return norm;
    case Site::ln2_scale: case Site::ln2_normalized: return norm && mlp;
    case Site::ln_final_scale: case Site::ln_final_normalized: return norm;
    case Site::rot_q: case Site::rot_k: return c.positional == PosKind::Rotary;
    case Site::resid_mid: return mlp && !c.parallel_residual;
    case Site::mlp_pre: case Site::mlp_post: case Site::mlp_out: return mlp;
    case Site::mlp_pre_linear: return mlp && c.gated_mlp;
    default: return s != Site::COUNT;
  }
}

Shape site_shape(Site s, const Config& c, int64_t B, int64_t Tq, int64_t Tk) {
  const int64_t d = c.d_model, H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head;
  switch (s) {
    case Site::ln1_scale: case Site::ln2_scale: case Site::ln_final_scale: return {B, Tq, 1};
    case Site::q: case Site::rot_q: case Site::z: return {B, Tq, H, dh};
    case Site::k: case Site::v: case Site::rot_k: return {B, Tq, Hkv, dh};
    case Site::attn_scores: case Site::pattern: return {B, H, Tq, Tk};
    case Site::result: return {B, Tq, H, d};
    case Site::mlp_pre: case Site::mlp_pre_linear: case Site::mlp_post: return {B, Tq, c.d_mlp};
    default: return {B, Tq, d};
  }
}

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
  for (int s = 0; s < kSiteCount; ++s) {
    if (!kSites[s].global || name != kSites[s].suffix) continue;
    if (!site_exists(Site(s), c)) fail_unknown("hook", name, c);
    return {Site(s), -1};
  }
  // blocks.{l}.<suffix>
  if (name.rfind("blocks.", 0) == 0) {
    size_t i = 7, j = i;
    while (j < name.size() && std::isdigit(static_cast<unsigned char>(name[j]))) ++j;
    if (j > i && j < name.size() && name[j] == '.' && j - i < 6) {
      const int layer = std::stoi(name.substr(i, j - i));
      const std::string suffix = name.substr(j + 1);
      for (int s = 0; s < kSiteCount; ++s) {
        if (kSites[s].global || suffix != kSites[s].suffix) continue;
        if (layer >= c.n_layers)
          fail("hook '", name, "': layer ", layer, " is out of range (model has ", c.n_layers, " layers)");
        if (!site_exists(Site(s), c)) fail_unknown("hook", name, c);
        return {Site(s), layer};
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
