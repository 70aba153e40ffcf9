// `glassbox sae info` / glassbox.sae_info: a dictionary's configuration and
// decoder statistics (glassbox/features/saelens.h).
#include <algorithm>
#include <cmath>

#include "glassbox/features/saelens.h"

namespace glassbox::features {

nlohmann::json sae_info_json(const Sae& s, const std::string& dir) {
  const SaeConfig& c = s.cfg;
  nlohmann::json j = {{"dir", dir},
                      {"architecture", to_string(c.arch)},
                      {"hook_name", c.hook_name},
                      {"d_in", c.d_in},
                      {"d_sae", c.d_sae},
                      {"apply_b_dec_to_input", c.b_dec_on_input()},
                      {"normalize_activations", to_string(c.normalize_activations)},
                      {"model_name", c.model_name}};
  if (c.arch == SaeArch::TopK || c.arch == SaeArch::BatchTopK) j["k"] = c.k;
  if (!c.autoencoder()) j["hook_name_out"] = c.hook_name_out, j["d_out"] = c.out_dim();
  const std::vector<float> norms = s.decoder_norms_per_source();
  if (c.n_sources > 1) {
    // Share of each latent's decoder norm in each source: ~1/K shared, ~1 exclusive.
    j["source_names"] = c.source_names;
    std::vector<int64_t> exclusive(size_t(c.n_sources), 0);
    int64_t shared = 0;
    for (int64_t l = 0; l < c.d_sae; ++l) {
      double tot = 0;
      for (int64_t k = 0; k < c.n_sources; ++k) tot += norms[size_t(l * c.n_sources + k)];
      bool excl = false;
      for (int64_t k = 0; k < c.n_sources; ++k)
        if (tot > 0 && norms[size_t(l * c.n_sources + k)] / tot > 0.9) ++exclusive[size_t(k)], excl = true;
      shared += !excl;
    }
    j["latents_exclusive_to_source"] = exclusive;
    j["latents_shared"] = shared;
  }
  double mn = 1e30, mx = 0, mean = 0;
  for (int64_t l = 0; l < c.d_sae; ++l) {
    double tot = 0;
    for (int64_t k = 0; k < c.n_sources; ++k) tot += double(norms[size_t(l * c.n_sources + k)]) * norms[size_t(l * c.n_sources + k)];
    tot = std::sqrt(tot);
    mn = std::min(mn, tot), mx = std::max(mx, tot), mean += tot / double(c.d_sae);
  }
  j["decoder_norm"] = {{"min", mn}, {"mean", mean}, {"max", mx}};
  return j;
}

}  // namespace glassbox::features
