#include "glassbox/features/activations.h"

#include <algorithm>

namespace glassbox::features {

float ActivationRecord::max_act() const {
  return acts.empty() ? 0.f : *std::max_element(acts.begin(), acts.end());
}

}  // namespace glassbox::features
