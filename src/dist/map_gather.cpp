// map_gather: a sweep of independent items split across ranks, built on the
// Comm's collectives (no MPI here).
#include <cstring>

#include "glassbox/dist_map.h"
#include "glassbox/error.h"

namespace glassbox::dist {

std::vector<std::string> map_gather(const Comm& c, int64_t n, const std::function<std::string(int64_t)>& fn) {
  if (n < 0) fail("dist::map_gather: ", n, " items");
  const auto [first, last] = share(n, c.rank(), c.size());
  std::vector<std::string> mine;
  for (int64_t i = first; i < last; ++i) mine.push_back(fn(i));
  if (c.size() == 1) return mine;
  // One message per rank: each result as an 8-byte length and its bytes.
  std::string packed;
  for (const std::string& r : mine) {
    const uint64_t len = r.size();
    packed.append(reinterpret_cast<const char*>(&len), sizeof len);
    packed += r;
  }
  std::vector<std::string> out;
  for (const std::string& p : c.gather(packed)) {  // rank order = item order: the shares are contiguous
    for (size_t at = 0; at < p.size();) {
      uint64_t len = 0;
      std::memcpy(&len, p.data() + at, sizeof len);
      out.push_back(p.substr(at + sizeof len, len));
      at += sizeof len + len;
    }
  }
  return out;
}

}  // namespace glassbox::dist
