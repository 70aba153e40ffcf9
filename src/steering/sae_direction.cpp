// SAE latents as steering directions (SAELens' steering: add a multiple of W_dec[j]).
#include "glassbox/steering/sae_direction.h"

#include "glassbox/error.h"
#include "glassbox/hooks.h"

namespace glassbox::steering {

SteeringVector sae_latent_direction(const features::Sae& sae, int64_t latent, const Config& c,
                                    const std::string& sae_path) {
  const std::string what = sae_path.empty() ? "sae" : sae_path;
  if (!sae.cfg.autoencoder() || sae.cfg.n_sources != 1)
    fail(what, ": a steering direction comes from an autoencoder of one site, not a transcoder or crosscoder");
  if (latent < 0 || latent >= sae.cfg.d_sae)
    fail(what, ": latent ", latent, " is out of range (the dictionary has ", sae.cfg.d_sae, ")");
  const HookPoint h = parse_hook_name(sae.cfg.hook_name, c);
  if (h.site != Site::resid_pre && h.site != Site::resid_mid && h.site != Site::resid_post)
    fail(what, ": hook_name ", sae.cfg.hook_name, " is not a residual-stream site; steer with a resid_* dictionary");
  if (sae.cfg.d_in != c.d_model)
    fail(what, ": d_in is ", sae.cfg.d_in, " but the model's d_model is ", c.d_model);
  SteeringVector v;
  v.name = what + "#" + std::to_string(latent);
  v.method = Method::SaeLatent;
  v.site = h.site;
  v.d_model = c.d_model;
  v.layers.push_back({h.layer, sae.output_direction(latent), NAN});
  v.provenance = {{"sae", what}, {"latent", latent}, {"hook", sae.cfg.hook_name}};
  return v;
}

}  // namespace glassbox::steering
