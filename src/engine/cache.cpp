#include "glassbox/cache.h"

#include <cstdio>
#include <cstring>
#include <map>

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

// In hook order (all_hook_points), whatever the order of the names: the
// in-memory cache and the streamed file list tensors the same way.
std::vector<HookPoint> selected_points(const Config& c, const CacheOptions& o) {
  HookSet wanted;
  for (const std::string& n : o.names)
    for (const HookPoint& p : match_hooks(n, c)) wanted.insert(p);
  std::vector<HookPoint> pts;
  for (const HookPoint& p : all_hook_points(c))
    if (o.names.empty() ? p.site != Site::result || o.with_result : wanted.count(p) > 0) pts.push_back(p);
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


// Calls emit(src, n) for the runs of `act` the cache keeps, in the cached
// tensor's order: all of it, or the rows at `positions` along the site's
// position axis ([outer, T, inner] -> [outer, P, inner]).
template <class Emit>
void for_each_kept_run(const TensorView& act, Site site, const std::vector<int64_t>& positions, Emit emit) {
  const int ax = site_pos_axis(site);
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < ax; ++i) outer *= act.shape[size_t(i)];
  for (size_t i = size_t(ax) + 1; i < act.shape.size(); ++i) inner *= act.shape[i];
  const int64_t T = act.shape[size_t(ax)];
  if (positions.empty()) return emit(act.data, outer * T * inner);
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t t : positions) emit(act.data + (a * T + t) * inner, inner);
}

void check_dtype(const CacheOptions& o) {
  if (o.dtype != DType::F32 && o.dtype != DType::F16 && o.dtype != DType::BF16)
    fail("cache: storage dtype must be f32, f16 or bf16, got ", dtype_name(o.dtype));
}

ForwardOptions scratch_options(const std::vector<HookPoint>& pts) {
  ForwardOptions fo;
  for (const HookPoint& p : pts) fo.compute_result |= p.site == Site::result;
  return fo;
}

constexpr const char* kCacheFormat = "glassbox.activation_cache";

}  // namespace

size_t estimate_cache_run_bytes(const Engine& e, const Batch& b, const CacheOptions& o) {
  const Config& c = e.model().config();
  const auto pts = selected_points(c, o);
  size_t total = e.estimate_bytes(b.B, b.T, scratch_options(pts));
  const size_t n_pos = o.positions.size();
  for (const HookPoint& p : pts) total += dtype_nbytes(o.dtype, numel(cached_shape(p, c, b, n_pos)));
  return total;
}

ActivationCache run_with_cache(Engine& e, const Batch& b, const CacheOptions& o, HookRegistry* hooks) {
  const Config& c = e.model().config();
  check_dtype(o);
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
      auto* out = static_cast<uint8_t*>(dst->data);
      const size_t esize = dtype_nbytes(o.dtype, 1);
      for_each_kept_run(act, p.site, positions, [&](const float* src, int64_t n) {
        from_f32(out, src, o.dtype, n);
        out += size_t(n) * esize;
      });
    }));
  }
  ForwardResult r = e.forward(b, reg, nullptr, fo);
  // Kept tensors come in the engine's slice order, copied ones in pts order: list both in pts order.
  std::map<HookPoint, Tensor> got;
  for (auto& [p, t] : r.kept) got.emplace(p, std::move(t));
  for (auto& [p, t] : copied) got.emplace(p, std::move(t));
  for (const HookPoint& p : pts) {
    auto it = got.find(p);
    if (it == got.end()) fail("cache: the forward produced no activation at ", p.name());
    cache.entries.push_back({p.name(), std::move(it->second)});
  }
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
  save_safetensors(path, ts, {{"format", kCacheFormat}});
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

namespace {

// The smallest pool the writer is shrunk to under a memory limit.
constexpr size_t kMinChunkBytes = size_t(4) << 10;

// Halves the chunks, then drops to two of them, until the pool fits `budget`.
bool shrink_pool(StreamWriterOptions& pool, size_t budget) {
  while (SafetensorsStreamWriter::pool_bytes(pool) > budget && pool.chunk_bytes / 2 >= kMinChunkBytes)
    pool.chunk_bytes /= 2;
  if (SafetensorsStreamWriter::pool_bytes(pool) > budget) pool.n_chunks = 2;
  return SafetensorsStreamWriter::pool_bytes(pool) <= budget;
}

}  // namespace

size_t estimate_stream_cache_bytes(const Engine& e, const Batch& b, const CacheOptions& o,
                                   const StreamWriterOptions& pool) {
  const auto pts = selected_points(e.model().config(), o);
  return e.estimate_bytes(b.B, b.T, scratch_options(pts)) + SafetensorsStreamWriter::pool_bytes(pool);
}

std::vector<TensorToWrite> stream_cache_to_file(Engine& e, const Batch& b, const CacheOptions& o,
                                                const std::string& path, HookRegistry* hooks,
                                                StreamWriterOptions pool) {
  const Config& c = e.model().config();
  check_dtype(o);
  const auto pts = selected_points(c, o);
  const auto positions = resolve_positions(o.positions, b.T);
  const ForwardOptions fo = scratch_options(pts);
  if (o.max_memory) {
    const size_t base = e.estimate_bytes(b.B, b.T, fo);
    if (base >= o.max_memory || !shrink_pool(pool, o.max_memory - base)) {
      StreamWriterOptions least{kMinChunkBytes, 2};
      fail("cache: streaming ", pts.size(), " hooks for ", b.B, "x", b.T, " tokens to ", path, " needs at least ",
           human_bytes(base + SafetensorsStreamWriter::pool_bytes(least)), " (one layer's scratch and the logits: ",
           human_bytes(base), "; the writer's smallest buffers: ", human_bytes(SafetensorsStreamWriter::pool_bytes(least)),
           "), above the --max-memory limit of ", human_bytes(o.max_memory), "; run fewer tokens");
    }
  }

  // The file's layout, as ActivationCache::save lists it: tokens, logits, then the hooks in hook order.
  std::vector<TensorToWrite> decl = {{"tokens", DType::I32, {b.B, b.T}, nullptr, 0},
                                     {"logits", DType::F32, {b.B, b.T, c.d_vocab}, nullptr, 0}};
  for (const HookPoint& p : pts) decl.push_back({p.name(), o.dtype, cached_shape(p, c, b, positions.size()), nullptr, 0});
  SafetensorsStreamWriter w(path, decl, {{"format", kCacheFormat}}, pool);
  w.append_bytes(0, b.tokens.data(), b.tokens.size() * sizeof(int32_t));

  HookRegistry local(c);
  HookRegistry* reg = hooks ? hooks : &local;
  std::vector<HookHandle> handles;
  for (size_t i = 0; i < pts.size(); ++i) {
    const HookPoint p = pts[i];
    handles.push_back(reg->add(p, [&w, &positions, p, slot = i + 2](TensorView& act, const HookContext&) {
      for_each_kept_run(act, p.site, positions,
                        [&](const float* src, int64_t n) { w.append_f32(slot, src, size_t(n)); });
    }));
  }
  const ForwardResult r = e.forward(b, reg, nullptr, fo);
  handles.clear();
  w.append_f32(1, r.logits.f32(), size_t(numel(r.logits.shape)));
  w.finish();
  for (size_t i = 0; i < decl.size(); ++i) decl[i].nbytes = dtype_nbytes(decl[i].dtype, numel(decl[i].shape));
  return decl;
}

}  // namespace glassbox
