// Sweeps of independent items (prompt pairs) split across the ranks of an
// mpirun run, their results gathered on rank 0 (glassbox/dist.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glassbox/dist.h"

namespace glassbox::dist {

// fn(i) for this rank's share of i in [0, n) (dist::share), the results
// gathered on rank 0 in the order of i; empty on the other ranks. One process:
// fn over all of [0, n).
std::vector<std::string> map_gather(const Comm& c, int64_t n, const std::function<std::string(int64_t)>& fn);

}  // namespace glassbox::dist
