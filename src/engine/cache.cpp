#include "glassbox/cache.h"

#include <cstdio>
#include <cstring>

#include "glassbox/error.h"
#include "glassbox/safetensors.h"

namespace glassbox {

std::string human_bytes(size_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

namespace {

std::vector<HookPoint> selected_points(const Config& c, const CacheOptions& o) {
  std::vector<HookPoint> pts;
  if (o.names.empty()) {
    for (const HookPoint& p : all_hook_points(c))
      if (p.site != Site::result || o.with_result) pts.push_back(p);
    return pts;
  }
  for (const std::string& n : o.names)
    for (const HookPoint& p : match_hooks(n, c))
      if (std::find(pts.begin(), pts.end(), p) == pts.end()) pts.push_back(p);
  return pts;
}

std::vector<int64_t> resolve_positions(const std::vector<int64_t>& req, int64_t T) {
  std::vector<int64_t> out;
  for (int64_t p : req) {
    const int64_t q = p < 0 ? T + p : p;
    if (q < 0 || q >= T) fail("cache: position ", p, " is out of range for ", T, " tokens");
    out.push_back(q);
  }
  return out;
}

bool direct_keep(const CacheOptions& o) { return o.dtype == DType::F32 && o.positions.empty(); }

Shape cached_shape(const HookPoint& p, const Config& c, const Batch& b, size_t n_pos) {
  Shape s = site_shape(p.site, c, b.B, b.T, b.T);
  if (n_pos) s[size_t(site_pos_axis(p.site))] = int64_t(n_pos);
  return s;
}

}  // namespace

size_t estimate_cache_run_bytes(const Engine& e, const Batch& b, const CacheOptions& o) {
  const Config& c = e.model().config();
  ForwardOptions fo;
  const auto pts = selected_points(c, o);
  for (const HookPoint& p : pts) fo.compute_result |= p.site == Site::result;
  size_t total = e.estimate_bytes(b.B, b.T, fo);
  const size_t n_pos = o.positions.size();
  for (const HookPoint& p : pts) total += dtype_nbytes(o.dtype, numel(cached_shape(p, c, b, n_pos)));
  return total;
}

ActivationCache run_with_cache(Engine& e, const Batch& b, const CacheOptions& o, HookRegistry* hooks) {
  const Config& c = e.model().config();
  if (o.dtype != DType::F32 && o.dtype != DType::F16 && o.dtype != DType::BF16)
    fail("cache: storage dtype must be f32, f16 or bf16, got ", dtype_name(o.dtype));
  const auto pts = selected_points(c, o);
  const auto positions = resolve_positions(o.positions, b.T);
  if (o.max_memory) {
    const size_t need = estimate_cache_run_bytes(e, b, o);
    if (need > o.max_memory)
      fail("cache: caching ", pts.size(), " hooks for ", b.B, "x", b.T, " tokens needs ", human_bytes(need),
           ", above the --max-memory limit of ", human_bytes(o.max_memory),
           "; narrow --names or --positions, or store as --dtype bf16");
  }

  ActivationCache cache;
  ForwardOptions fo;
  HookRegistry local(c);
  HookRegistry* reg = hooks ? hooks : &local;
  std::vector<HookHandle> handles;
  std::vector<std::pair<HookPoint, Tensor>> copied;
  copied.reserve(pts.size());
  for (const HookPoint& p : pts) {
    if (p.site == Site::result) fo.compute_result = true;
    if (direct_keep(o)) {
      fo.keep.insert(p);
      continue;
    }
    // Not zeroed: the hook writes every element (saves a pass over fresh pages).
    copied.push_back({p, Tensor::empty(cached_shape(p, c, b, positions.size()), o.dtype)});
    Tensor* dst = &copied.back().second;
    handles.push_back(reg->add(p, [dst, &positions, p, &o](TensorView& act, const HookContext&) {
      // Copy [outer, T, inner] selecting positions along the pos axis, converting dtype.
      const int ax = site_pos_axis(p.site);
      int64_t outer = 1, inner = 1;
      for (int i = 0; i < ax; ++i) outer *= act.shape[size_t(i)];
      for (size_t i = size_t(ax) + 1; i < act.shape.size(); ++i) inner *= act.shape[i];
      const int64_t T = act.shape[size_t(ax)];
      const int64_t P = positions.empty() ? T : int64_t(positions.size());
      const size_t esize = dtype_nbytes(o.dtype, 1);
      auto* out = static_cast<uint8_t*>(dst->data);
      if (positions.empty()) return from_f32(out, act.data, o.dtype, outer * T * inner);
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t i = 0; i < P; ++i) {
          const int64_t t = positions[size_t(i)];
          from_f32(out + size_t((a * P + i) * inner) * esize, act.data + (a * T + t) * inner, o.dtype, inner);
        }
    }));
  }
  ForwardResult r = e.forward(b, reg, nullptr, fo);
  for (auto& [p, t] : r.kept) cache.entries.push_back({p.name(), std::move(t)});
  for (auto& [p, t] : copied) cache.entries.push_back({p.name(), std::move(t)});
  cache.logits = std::move(r.logits);
  cache.tokens = Tensor::zeros({b.B, b.T}, DType::I32);
  std::memcpy(cache.tokens.data, b.tokens.data(), b.tokens.size() * 4);
  return cache;
}

bool ActivationCache::contains(const std::string& name) const {
  for (const auto& [n, t] : entries)
    if (n == name) return true;
  return false;
}

const Tensor& ActivationCache::operator[](const std::string& name) const {
  if (name == "logits" && logits.data) return logits;
  for (const auto& [n, t] : entries)
    if (n == name) return t;
  std::string have;
  for (size_t i = 0; i < entries.size() && i < 5; ++i) have += (i ? ", " : "") + entries[i].first;
  fail("cache: no activation named '", name, "' (the cache holds ", entries.size(), " tensors: ", have,
       entries.size() > 5 ? ", ..." : "", ")");
}

size_t ActivationCache::nbytes() const {
  size_t n = logits.data ? logits.nbytes() : 0;
  for (const auto& [name, t] : entries) n += t.nbytes();
  return n;
}

void ActivationCache::save(const std::string& path) const {
  std::vector<TensorToWrite> ts;
  auto add = [&](const std::string& name, const Tensor& t) {
    if (t.data) ts.push_back({name, t.dtype, t.shape, t.data, t.nbytes()});
  };
  add("tokens", tokens);
  add("logits", logits);
  for (const auto& [name, t] : entries) add(name, t);
  save_safetensors(path, ts, {{"format", "glassbox.activation_cache"}});
}

ActivationCache ActivationCache::load(const std::string& path) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  ActivationCache c;
  for (const RawTensor& r : f.tensors()) {
    Tensor t = Tensor::zeros(r.shape, r.dtype);
    if (r.nbytes != t.nbytes()) fail(path, ": tensor '", r.name, "' has an unexpected size");
    std::memcpy(t.data, r.data, r.nbytes);
    if (r.name == "logits") c.logits = std::move(t);
    else if (r.name == "tokens") c.tokens = std::move(t);
    else c.entries.push_back({r.name, std::move(t)});
  }
  return c;
}

}  // namespace glassbox
