// The hook-site table: one constexpr description per site, read by every
// consumer (names, shapes, which architectures have it, what backward needs,
// how patching and interventions index it, the cache's position axis). A new
// site is one enum value plus one row here; the static_asserts below catch a
// row out of step with the enum at compile time.
#pragma once
#include <cstdint>
#include <iterator>
#include <string_view>

#include "glassbox/enum_string.h"

namespace glassbox {

enum class Site : uint8_t {
  embed, pos_embed,                                  // global
  resid_pre, ln1_scale, ln1_normalized,              // per layer, in forward order ...
  q, k, v, rot_q, rot_k, attn_scores, pattern, z, result, ln1_post_scale, ln1_post_normalized, attn_out,
  resid_mid, ln2_scale, ln2_normalized,
  mlp_pre, mlp_pre_linear, mlp_post, ln2_post_scale, ln2_post_normalized, mlp_out, resid_post,
  ln_final_scale, ln_final_normalized,               // global
  COUNT
};
constexpr int kSiteCount = int(Site::COUNT);

// The activation's layout for a batch of B rows of T queries over Tk keys.
enum class SiteShape : uint8_t {
  Resid,    // [B, T, d_model]
  Scale,    // [B, T, 1]
  Heads,    // [B, T, n_heads, d_head]
  KvHeads,  // [B, T, n_kv_heads, d_head]
  Scores,   // [B, n_heads, T, Tk]: positions are axis 2
  HeadOut,  // [B, T, n_heads, d_model]
  Mlp,      // [B, T, d_mlp]
};

// Which architectures have the site.
enum class SiteWhen : uint8_t {
  Always,
  LearnedPos,     // hook_pos_embed
  Rotary,         // hook_rot_q / hook_rot_k
  Norm,           // ln1.*, ln_final.*
  NormMlp,        // ln2.*: a norm and an MLP
  Mlp,            // not attention-only
  GatedMlp,       // mlp.hook_pre_linear
  SequentialMlp,  // hook_resid_mid: an MLP after attention, not beside it
  PostNorm,       // ln1_post.*: a norm on attention's output (Gemma-2)
  PostNormMlp,    // ln2_post.*: and on the MLP's
};

// Whether Engine::backward reads the forward's value of the site (the pass
// keeps it when ForwardOptions::for_backward is set).
enum class SiteBackward : uint8_t {
  No,
  Yes,
  WithoutRotary,  // q / k: the scores' inputs unless rot_q / rot_k are
  WithoutNorm,    // the residual stream feeds the projections directly
};

// How activation patching sweeps the site: per (layer, position), per (layer, head), or not at all.
enum class PatchAxis : uint8_t { None, Position, Head };

struct SiteInfo {
  Site site;
  std::string_view name;    // the enum's name: "resid_pre", "pattern", "mlp_pre"
  std::string_view suffix;  // TransformerLens: "hook_resid_pre", "attn.hook_pattern" (after "blocks.{l}.")
  bool global;              // hook_embed, hook_pos_embed, ln_final.*: no layer
  SiteShape shape;
  SiteWhen when;
  SiteBackward backward;
  PatchAxis patch;
};

// Short aliases for the rows below only (not glassbox::detail: public headers keep
// that name free for `using namespace glassbox::analysis` code).
namespace site_rows {
using S = Site;
using Sh = SiteShape;
using W = SiteWhen;
using Bw = SiteBackward;
using P = PatchAxis;
inline constexpr SiteInfo kSiteTable[] = {
    {S::embed, "embed", "hook_embed", true, Sh::Resid, W::Always, Bw::No, P::None},
    {S::pos_embed, "pos_embed", "hook_pos_embed", true, Sh::Resid, W::LearnedPos, Bw::No, P::None},
    {S::resid_pre, "resid_pre", "hook_resid_pre", false, Sh::Resid, W::Always, Bw::WithoutNorm, P::Position},
    {S::ln1_scale, "ln1_scale", "ln1.hook_scale", false, Sh::Scale, W::Norm, Bw::Yes, P::None},
    {S::ln1_normalized, "ln1_normalized", "ln1.hook_normalized", false, Sh::Resid, W::Norm, Bw::Yes, P::None},
    {S::q, "q", "attn.hook_q", false, Sh::Heads, W::Always, Bw::WithoutRotary, P::Head},
    {S::k, "k", "attn.hook_k", false, Sh::KvHeads, W::Always, Bw::WithoutRotary, P::Head},
    {S::v, "v", "attn.hook_v", false, Sh::KvHeads, W::Always, Bw::Yes, P::Head},
    {S::rot_q, "rot_q", "attn.hook_rot_q", false, Sh::Heads, W::Rotary, Bw::Yes, P::None},
    {S::rot_k, "rot_k", "attn.hook_rot_k", false, Sh::KvHeads, W::Rotary, Bw::Yes, P::None},
    {S::attn_scores, "attn_scores", "attn.hook_attn_scores", false, Sh::Scores, W::Always, Bw::No, P::None},
    {S::pattern, "pattern", "attn.hook_pattern", false, Sh::Scores, W::Always, Bw::Yes, P::Head},
    {S::z, "z", "attn.hook_z", false, Sh::Heads, W::Always, Bw::Yes, P::Head},
    {S::result, "result", "attn.hook_result", false, Sh::HeadOut, W::Always, Bw::No, P::Head},
    // Gemma-2's post-norms (TransformerLens' ln1_post / ln2_post): hook_attn_out and hook_mlp_out are after them.
    {S::ln1_post_scale, "ln1_post_scale", "ln1_post.hook_scale", false, Sh::Scale, W::PostNorm, Bw::Yes, P::None},
    {S::ln1_post_normalized, "ln1_post_normalized", "ln1_post.hook_normalized", false, Sh::Resid, W::PostNorm, Bw::Yes,
     P::None},
    {S::attn_out, "attn_out", "hook_attn_out", false, Sh::Resid, W::Always, Bw::No, P::Position},
    {S::resid_mid, "resid_mid", "hook_resid_mid", false, Sh::Resid, W::SequentialMlp, Bw::WithoutNorm, P::Position},
    {S::ln2_scale, "ln2_scale", "ln2.hook_scale", false, Sh::Scale, W::NormMlp, Bw::Yes, P::None},
    {S::ln2_normalized, "ln2_normalized", "ln2.hook_normalized", false, Sh::Resid, W::NormMlp, Bw::Yes, P::None},
    {S::mlp_pre, "mlp_pre", "mlp.hook_pre", false, Sh::Mlp, W::Mlp, Bw::Yes, P::None},
    {S::mlp_pre_linear, "mlp_pre_linear", "mlp.hook_pre_linear", false, Sh::Mlp, W::GatedMlp, Bw::Yes, P::None},
    {S::mlp_post, "mlp_post", "mlp.hook_post", false, Sh::Mlp, W::Mlp, Bw::Yes, P::None},
    {S::ln2_post_scale, "ln2_post_scale", "ln2_post.hook_scale", false, Sh::Scale, W::PostNormMlp, Bw::Yes, P::None},
    {S::ln2_post_normalized, "ln2_post_normalized", "ln2_post.hook_normalized", false, Sh::Resid, W::PostNormMlp,
     Bw::Yes, P::None},
    {S::mlp_out, "mlp_out", "hook_mlp_out", false, Sh::Resid, W::Mlp, Bw::No, P::Position},
    {S::resid_post, "resid_post", "hook_resid_post", false, Sh::Resid, W::Always, Bw::WithoutNorm, P::Position},
    {S::ln_final_scale, "ln_final_scale", "ln_final.hook_scale", true, Sh::Scale, W::Norm, Bw::Yes, P::None},
    {S::ln_final_normalized, "ln_final_normalized", "ln_final.hook_normalized", true, Sh::Resid, W::Norm, Bw::Yes,
     P::None},
};


constexpr bool in_enum_order() {
  for (int i = 0; i < kSiteCount; ++i)
    if (int(kSiteTable[i].site) != i) return false;
  return true;
}
}  // namespace site_rows

using site_rows::kSiteTable;
static_assert(std::size(kSiteTable) == size_t(kSiteCount), "one row per Site in kSiteTable");
static_assert(site_rows::in_enum_order(), "kSiteTable rows must follow enum Site's order");

constexpr const SiteInfo& site_info(Site s) { return kSiteTable[int(s)]; }
constexpr bool site_is_global(Site s) { return site_info(s).global; }
// Per-head sites: an intervention or a patch may select heads.
constexpr bool site_has_heads(Site s) {
  const SiteShape sh = site_info(s).shape;
  return sh == SiteShape::Heads || sh == SiteShape::KvHeads || sh == SiteShape::Scores || sh == SiteShape::HeadOut;
}
// The axis of the activation that indexes token positions (queries for scores / pattern).
constexpr int site_pos_axis(Site s) { return site_info(s).shape == SiteShape::Scores ? 2 : 1; }

const char* site_suffix(Site s);  // "attn.hook_pattern", "hook_resid_pre", "ln_final.hook_scale" ...
const char* to_string(Site s);    // "pattern", "resid_pre", "mlp_pre" (the enum's name)
// The enum's name ("z") or the TransformerLens suffix ("attn.hook_z"); Error listing the names otherwise.
template <> Site from_string<Site>(std::string_view s);

}  // namespace glassbox
