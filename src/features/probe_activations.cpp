// ProbeActivations: the activations of a label set's examples at the probed
// positions, one forward pass per batch of examples serving every hook.
#include <algorithm>

#include "glassbox/error.h"
#include "glassbox/features/probe_sweep.h"

namespace glassbox::features {

std::vector<int64_t> ProbePosition::resolve(const ProbeExample& ex, size_t example_index) const {
  const auto T = int64_t(ex.tokens.size());
  if (T == 0) fail("probe: example ", example_index, " has no tokens");
  if (spec == "last") return {T - 1};
  if (spec == "mean") return {};  // gathered by the caller: see ProbeActivations::run_batch
  if (spec == "every") {
    std::vector<int64_t> all(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) all[size_t(t)] = t;
    return all;
  }
  int64_t at = 0;
  const bool number = !spec.empty() && spec.find_first_not_of("-0123456789") == std::string::npos;
  if (number) {
    try {
      at = std::stoll(spec);
    } catch (const std::exception&) {
      fail("probe: position '", spec, "' is not a number");
    }
    if (at < 0) at += T;
  } else {
    const auto it = ex.positions.find(spec);
    if (it == ex.positions.end()) {
      std::string names;
      for (const auto& [n, i] : ex.positions) names += (names.empty() ? "" : ", ") + n;
      fail("probe: example ", example_index, " has no position named '", spec,
           "' (positions: last, every, an index", names.empty() ? "" : ", ", names, ")");
    }
    at = it->second;
  }
  if (at < 0 || at >= T)
    fail("probe: position '", spec, "' is token ", at, " of example ", example_index, ", which has ", T, " tokens");
  return {at};
}

ProbeActivations::ProbeActivations(Engine& e, const LabelSet& labels, std::vector<HookPoint> hooks,
                                   ProbePosition position, int64_t batch_examples)
    : engine_(e), labels_(labels), hooks_(std::move(hooks)), position_(std::move(position)),
      batch_examples_(std::max<int64_t>(1, batch_examples)) {
  const Config& c = e.model().config();
  if (hooks_.empty()) fail("probe: no hook to read");
  for (const HookPoint& h : hooks_) {
    if (!site_exists(h.site, c)) fail("probe: ", h.name(), " does not exist in this model");
    if (site_pos_axis(h.site) != 1)
      fail("probe: ", h.name(), " is indexed by query and key, not by position; probe a per-token site");
    const Shape s = site_shape(h.site, c, 1, 1, 1);
    int64_t d = 1;
    for (size_t i = 2; i < s.size(); ++i) d *= s[i];
    names_.push_back(h.name());
    dims_.push_back(d);
  }
  rewind();
}

void ProbeActivations::rewind() {
  next_example_ = 0;
  pending_ = {};
  pending_.sites.assign(hooks_.size(), {});
  pending_example_.clear();
  pending_from_ = 0;
  row_example_.clear();
}

void ProbeActivations::run_batch() {
  const size_t first = next_example_;
  const size_t last = std::min(labels_.examples.size(), first + size_t(batch_examples_));
  next_example_ = last;
  std::vector<std::vector<int32_t>> rows;
  std::vector<std::vector<int64_t>> where;
  for (size_t i = first; i < last; ++i) {
    rows.push_back(labels_.examples[i].tokens);
    where.push_back(position_.resolve(labels_.examples[i], i));
  }
  ForwardOptions fo;
  fo.logits = LogitsMode::None;
  fo.keep = HookSet(hooks_.begin(), hooks_.end());
  const Batch batch = Batch::from_rows(rows);
  const ForwardResult r = engine_.forward(batch, nullptr, nullptr, fo);

  pending_ = {};
  pending_.sites.assign(hooks_.size(), {});
  pending_example_.clear();
  pending_from_ = 0;
  const bool mean = position_.spec == "mean";
  for (size_t h = 0; h < hooks_.size(); ++h) {
    const Tensor& t = r.get(hooks_[h]);
    const float* base = t.f32();
    const int64_t d = dims_[h];
    auto& out = pending_.sites[h];
    for (size_t b = 0; b < rows.size(); ++b) {
      if (mean) {  // one row: the mean over the tokens after the first (BOS), or the only token
        const auto T = int64_t(rows[b].size());
        const int64_t from = T > 1 ? 1 : 0;
        std::vector<double> acc(size_t(d), 0.0);
        for (int64_t p = from; p < T; ++p)
          for (int64_t j = 0; j < d; ++j) acc[size_t(j)] += base[(int64_t(b) * batch.T + p) * d + j];
        for (double v : acc) out.push_back(float(v / double(T - from)));
        continue;
      }
      for (int64_t p : where[b]) {
        const float* row = base + (int64_t(b) * batch.T + p) * d;
        out.insert(out.end(), row, row + d);
      }
    }
  }
  for (size_t b = 0; b < rows.size(); ++b) {
    if (mean) where[b] = {int64_t(rows[b].size()) - 1};  // the row's token: the last one
    for (int64_t p : where[b]) {
      pending_.tokens.push_back(rows[b][size_t(p)]);
      pending_example_.push_back(int64_t(first + b));
    }
  }
  pending_.rows = int64_t(pending_example_.size());
}

int64_t ProbeActivations::next(ActivationBatch& out, int64_t max_rows) {
  while (pending_from_ >= pending_.rows) {
    if (next_example_ >= labels_.examples.size()) {
      out.rows = 0;
      out.sites.assign(hooks_.size(), {});
      out.tokens.clear();
      return 0;
    }
    run_batch();
  }
  const int64_t n = std::min(max_rows, pending_.rows - pending_from_);
  out.rows = n;
  out.sites.resize(hooks_.size());
  for (size_t h = 0; h < hooks_.size(); ++h) {
    const auto from = pending_.sites[h].begin() + pending_from_ * dims_[h];
    out.sites[h].assign(from, from + n * dims_[h]);
  }
  out.tokens.assign(pending_.tokens.begin() + pending_from_, pending_.tokens.begin() + pending_from_ + n);
  row_example_.insert(row_example_.end(), pending_example_.begin() + pending_from_,
                      pending_example_.begin() + pending_from_ + n);
  pending_from_ += n;
  return n;
}

}  // namespace glassbox::features
