// Hook sites under their TransformerLens names, and the registry the engine
// fires at each site. A hook either observes (read the activation) or
// replaces (write it in place before the model continues).
#pragma once
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "glassbox/config.h"
#include "glassbox/sites.h"
#include "glassbox/tensor.h"

namespace glassbox {

// A typed hook id: {site, layer} (layer = -1 for global sites).
struct HookPoint {
  Site site = Site::embed;
  int layer = -1;
  std::string name() const;  // "blocks.3.attn.hook_pattern", "hook_embed"
  // Ordered by site, then layer (what std::set / std::map keys need).
  auto operator<=>(const HookPoint&) const = default;
};
using HookSet = std::set<HookPoint>;

// Whether the site exists in this architecture (rot_q only with rotary,
// resid_mid not with parallel residual, MLP sites not in attention-only models ...).
bool site_exists(Site s, const Config& c);
// Shape of the activation for a batch: [B, T, d_model], [B, n_heads, Tq, Tk] ...
Shape site_shape(Site s, const Config& c, int64_t B, int64_t Tq, int64_t Tk);
// Whether Engine::backward reads the site's forward value in this architecture.
bool site_needed_for_backward(Site s, const Config& c);

std::vector<HookPoint> all_hook_points(const Config& c);
// Parses an exact name. Error listing the closest valid names when unknown.
HookPoint parse_hook_name(const std::string& name, const Config& c);
// Exact name or glob ('*' any run of characters, '?' one). Error with the
// closest valid names when nothing matches.
std::vector<HookPoint> match_hooks(const std::string& pattern, const Config& c);
bool glob_match(const std::string& pattern, const std::string& text);

struct HookContext {
  HookPoint point;
  int64_t pos_offset = 0;  // absolute position of row 0 of the activation (KV cache)
  const Config* config = nullptr;
};
using HookFn = std::function<void(TensorView& act, const HookContext& ctx)>;
// Grad hooks receive d(metric)/d(activation) during Engine::backward.
enum class HookMode : uint8_t { Observe, Replace, Grad };
const char* to_string(HookMode m);  // "observe", "replace", "grad"
template <> HookMode from_string<HookMode>(std::string_view s);

class HookRegistry;

// Removes its hook when destroyed: an exception never leaves a hook attached.
class HookHandle {
 public:
  HookHandle() = default;
  HookHandle(HookRegistry* r, uint64_t id) : reg_(r), id_(id) {}
  HookHandle(HookHandle&& o) noexcept : reg_(o.reg_), id_(o.id_) { o.reg_ = nullptr; }
  HookHandle& operator=(HookHandle&& o) noexcept;
  HookHandle(const HookHandle&) = delete;
  HookHandle& operator=(const HookHandle&) = delete;
  ~HookHandle() { reset(); }
  void reset();
  void release() { reg_ = nullptr; }  // keep the hook for the registry's lifetime

 private:
  HookRegistry* reg_ = nullptr;
  uint64_t id_ = 0;
};

class HookRegistry {
 public:
  explicit HookRegistry(const Config& c) : cfg_(c) {}
  HookRegistry(const HookRegistry&) = delete;
  HookRegistry& operator=(const HookRegistry&) = delete;

  // Name or glob; one registration covers every matching site.
  [[nodiscard]] HookHandle add(const std::string& name_or_glob, HookFn fn, HookMode mode = HookMode::Observe);
  [[nodiscard]] HookHandle add(HookPoint p, HookFn fn, HookMode mode = HookMode::Observe);
  void remove(uint64_t id);
  void clear() { hooks_.clear(); }
  bool empty() const { return hooks_.empty(); }
  const Config& config() const { return cfg_; }

  // Engine side.
  bool has(HookPoint p) const;  // an observe or replace hook
  bool has_replace(HookPoint p) const;
  bool has_grad(HookPoint p) const;
  bool any_grad() const;
  // Runs replace hooks (registration order), then observe hooks.
  void fire(HookPoint p, TensorView& act, int64_t pos_offset) const;
  void fire_grad(HookPoint p, TensorView& grad) const;

 private:
  struct Entry {
    uint64_t id;
    std::vector<HookPoint> points;
    HookFn fn;
    HookMode mode;
  };
  const Config& cfg_;
  std::vector<Entry> hooks_;
  uint64_t next_id_ = 1;
};

}  // namespace glassbox
