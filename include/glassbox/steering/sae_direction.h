// A sparse dictionary latent as a steering direction: its decoder row
// W_dec[j] (what the latent writes back into the site it reads), at the
// dictionary's hook (SAELens cfg.json hook_name, a residual-stream site).
#pragma once
#include <cstdint>

#include "glassbox/config.h"
#include "glassbox/features/sae.h"
#include "glassbox/steering/direction.h"

namespace glassbox::steering {

// Error for a latent out of range, a dictionary that is not an autoencoder
// of one site (transcoder, crosscoder), a hook that is not a residual-stream
// site of config c, or a width other than c.d_model.
SteeringVector sae_latent_direction(const features::Sae& sae, int64_t latent, const Config& c,
                                    const std::string& sae_path = "");

}  // namespace glassbox::steering
