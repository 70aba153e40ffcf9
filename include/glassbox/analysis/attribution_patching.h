// Attribution patching (Nanda 2023; Syed et al. 2023): a first-order Taylor
// estimate of every activation patch of activation_patching() from one
// forward + backward pass of the patched run and one cached run of the source:
//   metric(patched) - metric(base) ~= (a_source - a_base) . d metric / d a |base
// summed over the patched slice (one position of one layer, or one head at
// all positions). With Denoise (default, as in the TransformerLens demo) the
// gradient is taken on the corrupted run and (clean - corrupt) activations
// are used; with Noise, on the clean run with (corrupt - clean) — Nanda's
// original formulation. Results have exactly the shape and normalisation of
// activation_patching() with the same options, so correlation(a, b) compares them.
#pragma once
#include <vector>

#include "glassbox/analysis/patching.h"

namespace glassbox::analysis {

std::vector<PatchGrid> attribution_patching(Engine& e, const Batch& clean, const Batch& corrupt,
                                            const std::vector<Site>& sites, const PatchingOptions& opt);

}  // namespace glassbox::analysis
