// The head a by-head patching grid singles out: the cell furthest from "no
// effect". Path patching's usual second step (Wang et al. 2022) takes the
// head with the largest direct effect on the logits as the next receiver.
#pragma once
#include <optional>

#include "glassbox/analysis/patching.h"

namespace glassbox::analysis {

struct HeadEffect {
  int layer = 0, head = 0;
  float value = 0;  // the grid's cell
};

// Among layers >= first_layer, the cell with the largest |baseline - value|
// (the first in layer, head order on ties); baseline is the value of a head
// without effect: 1 in a normalised noising grid (the metric kept whole), 0
// in a normalised denoising one. nullopt when no layer qualifies; Error for
// a grid not swept by head.
std::optional<HeadEffect> strongest_head(const PatchGrid& g, float baseline, int first_layer = 0);

}  // namespace glassbox::analysis
