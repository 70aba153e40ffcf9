#include <algorithm>

#include "features/sae_detail.h"
#include "glassbox/error.h"

namespace glassbox::features::detail {

namespace {
int find_site(const ActivationStream& stream, const std::string& name, const std::string& what) {
  const auto& names = stream.site_names();
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    std::string have;
    for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
    fail(what, ": site '", name, "' is not in the activation stream (it has: ", have, ")");
  }
  return int(it - names.begin());
}
}  // namespace

DictionarySites resolve_sites(const ActivationStream& stream, const SaeConfig& c, const std::string& what) {
  DictionarySites d;
  if (c.n_sources > 1) {
    if (int64_t(c.source_names.size()) != c.n_sources)
      fail(what, ": a crosscoder over ", c.n_sources, " sources needs ", c.n_sources, " source names");
    if (!c.hook_name_out.empty()) fail(what, ": a crosscoder reconstructs its sources; hook_name_out must be empty");
    for (const auto& n : c.source_names) d.in.push_back(find_site(stream, n, what));
    d.out = d.in;
  } else {
    if (c.hook_name.empty()) fail(what, ": no hook_name (the site the dictionary reads)");
    d.in.push_back(find_site(stream, c.hook_name, what));
    d.out.push_back(c.hook_name_out.empty() ? d.in[0] : find_site(stream, c.hook_name_out, what));
  }
  for (int s : d.in)
    if (stream.dims()[size_t(s)] != c.d_in)
      fail(what, ": site '", stream.site_names()[size_t(s)], "' has width ", stream.dims()[size_t(s)],
           ", the dictionary's d_in is ", c.d_in);
  for (int s : d.out)
    if (stream.dims()[size_t(s)] != c.out_dim())
      fail(what, ": target site '", stream.site_names()[size_t(s)], "' has width ", stream.dims()[size_t(s)],
           ", the dictionary's output width is ", c.out_dim());
  return d;
}

void gather_rows(std::vector<float>& x, const ActivationBatch& b, const std::vector<int>& sites,
                 const std::vector<int64_t>& dims, float scale) {
  int64_t width = 0;
  for (int s : sites) width += dims[size_t(s)];
  x.resize(size_t(b.rows * width));
  int64_t off = 0;
  for (int s : sites) {
    const int64_t d = dims[size_t(s)];
    const float* src = b.sites[size_t(s)].data();
#pragma omp parallel for schedule(static) if (b.rows * d >= (1 << 15))
    for (int64_t n = 0; n < b.rows; ++n)
      for (int64_t i = 0; i < d; ++i) x[size_t(n * width + off + i)] = src[n * d + i] * scale;
    off += d;
  }
}

}  // namespace glassbox::features::detail
