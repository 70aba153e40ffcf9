// Internal: the knowledge report's signals from a sparse autoencoder.
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/features/knowledge.h"
#include "glassbox/features/probe_metrics.h"

namespace glassbox::features::detail {

// Appends, per position ("subject", "end"), the signals of opt.sae's latents
// at its hook: the latent (and sign) that best separates the TRAINING
// subjects, scored on the held-out ones, and a probe (opt.probe) fitted on
// the training subjects' latent codes. Sets r.sae_*.
void add_sae_signals(Engine& e, const LabelSet& labels, const std::vector<int32_t>& y, const Split& split,
                     const KnowledgeOptions& opt, KnowledgeReport& r);

}  // namespace glassbox::features::detail
