#include "glassbox/analysis/strongest_head.h"

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"

namespace glassbox::analysis {

std::optional<HeadEffect> strongest_head(const PatchGrid& g, float baseline, int first_layer) {
  if (!g.by_head) fail("strongest_head: the grid of ", g.hook, " is swept by position, not by head");
  int64_t best = -1;
  for (int64_t i = int64_t(std::max(first_layer, 0)) * g.n_cols; i < int64_t(g.values.size()); ++i)
    if (best < 0 || std::abs(baseline - g.values[size_t(i)]) > std::abs(baseline - g.values[size_t(best)])) best = i;
  if (best < 0) return std::nullopt;
  return HeadEffect{int(best / g.n_cols), int(best % g.n_cols), g.values[size_t(best)]};
}

}  // namespace glassbox::analysis
