#include "features/collect_state.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace glassbox::features::detail {

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr int64_t kBlock = 64;  // features per task: their state stays in L1 while rows stream by

}  // namespace

int fine_bin(float a) {
  const uint32_t bits = std::bit_cast<uint32_t>(a);
  const int e = int((bits >> 23) & 0xff) - 127;
  const int b = (e - kMinExp) * 8 + int((bits >> 20) & 7);
  return std::clamp(b, 0, kFineBins - 1);
}

float fine_bin_lo(int b) {
  if (b == 0) return 0.f;
  return std::ldexp(1.f + float(b % 8) / 8.f, b / 8 + kMinExp);
}

float fine_bin_hi(int b) {
  if (b == kFineBins - 1) return std::numeric_limits<float>::max();
  return std::ldexp(1.f + float(b % 8 + 1) / 8.f, b / 8 + kMinExp);
}

ActivationHistogram rebin_linear(const uint32_t* fine, float max_act, int bins) {
  ActivationHistogram h;
  h.counts.assign(size_t(bins), 0.0);
  const double top = max_act > 0 ? double(max_act) : 1.0, width = top / bins;
  for (int i = 0; i <= bins; ++i) h.edges.push_back(float(width * i));
  for (int b = 0; b < kFineBins; ++b) {
    if (!fine[b]) continue;
    const double lo = std::min<double>(fine_bin_lo(b), top), hi = std::min<double>(fine_bin_hi(b), top);
    const int first = std::min(bins - 1, int(lo / width));
    if (hi - lo <= 0) {  // the bin is at the max: all of it in the last linear bin
      h.counts[size_t(first)] += fine[b];
      continue;
    }
    for (int i = first; i < bins && width * i < hi; ++i) {
      const double overlap = std::min(hi, width * (i + 1)) - std::max(lo, width * i);
      if (overlap > 0) h.counts[size_t(i)] += fine[b] * overlap / (hi - lo);
    }
  }
  return h;
}

FeatureAccumulators::FeatureAccumulators(int64_t n_features, const CollectOptions& opt, int64_t total_tokens,
                                         int seq_len)
    : F_(n_features),
      opt_(opt),
      seq_len_(seq_len),
      W_(opt.context_before + 1 + opt.context_after),
      K_(opt.top_k),
      R_(2 * opt.quantile_bands * opt.per_band),  // twice what is shown: bands split a sample, not exact quantiles
      NR_(opt.random),
      total_tokens_(total_tokens) {
  const size_t F = size_t(F_), W = size_t(W_);
  active_.assign(F, 0);
  sum_.assign(F, 0.0);
  max_.assign(F, 0.f);
  hist_.assign(F * kFineBins, 0);
  seq_max_.assign(F, 0.f);
  seq_pos_.assign(F, 0);
  top_acts_.assign(F * size_t(K_) * W, 0.f);
  top_meta_.assign(F * size_t(K_), {});
  top_heap_.assign(F * size_t(K_), 0);
  top_size_.assign(F, 0);
  res_acts_.assign(F * size_t(R_) * W, 0.f);
  res_meta_.assign(F * size_t(R_), {});
  res_w_.assign(F, 0.0);
  res_next_.assign(F, 0);
  rng_.resize(F);
  rand_at_.assign(F * size_t(NR_), 0);
  rand_acts_.assign(F * size_t(NR_) * W, 0.f);
  rand_meta_.assign(F * size_t(NR_), {});
  rand_next_.assign(F, 0);
  co_key_.assign(F * size_t(opt.cooccur_slots), -1);
  co_count_.assign(F * size_t(opt.cooccur_slots), 0);
  co_tokens_.assign(F, 0);
  for (int64_t j = 0; j < F_; ++j) {
    uint64_t s = opt.seed * 0x2545f4914f6cdd1dull + uint64_t(j);
    rng_[size_t(j)] = splitmix64(s);
    int64_t* at = rand_at_.data() + size_t(j * NR_);  // not &v[i]: with no random examples the vector is empty (UBSan)
    for (int r = 0; r < NR_; ++r) at[r] = int64_t(splitmix64(rng_[size_t(j)]) % uint64_t(total_tokens_));
    std::sort(at, at + NR_);
    res_w_[size_t(j)] = std::exp(std::log(uniform(j)) / R_);
    res_next_[size_t(j)] = R_;
    if (R_ > 0) advance_reservoir(j);
  }
}

double FeatureAccumulators::uniform(int64_t j) {
  return (double(splitmix64(rng_[size_t(j)]) >> 11) + 0.5) * 0x1.0p-53;
}

void FeatureAccumulators::advance_reservoir(int64_t j) {
  // Algorithm L (Li 1994): skip ~ floor(log u / log(1 - w)) items, then keep one.
  const double w = res_w_[size_t(j)];
  const double skip = std::floor(std::log(uniform(j)) / std::log1p(-w));
  res_next_[size_t(j)] += 1 + int64_t(std::min(skip, 1e15));
}

void FeatureAccumulators::capture(std::vector<float>& acts, std::vector<WindowMeta>& meta, size_t slot,
                                  const float* f, int64_t T, int64_t s_local, int64_t seq, int32_t pos,
                                  int64_t j) const {
  const int32_t start = std::max(0, pos - opt_.context_before);
  const int32_t end = int32_t(std::min<int64_t>(T, pos + opt_.context_after + 1));
  float* out = &acts[slot * size_t(W_)];
  const float* col = f + s_local * T * F_ + j;
  for (int32_t t = start; t < end; ++t) out[t - start] = col[t * F_];
  meta[slot] = {col[pos * F_], seq, pos, start, end - start};
}

void FeatureAccumulators::offer_top(int64_t j, const float* f, int64_t T, int64_t s_local, int64_t seq, int32_t pos,
                                    float a) {
  uint32_t* heap = &top_heap_[size_t(j * K_)];
  int32_t& n = top_size_[size_t(j)];
  const size_t base = size_t(j * K_);
  auto greater = [&](uint32_t x, uint32_t y) { return top_meta_[base + x].act > top_meta_[base + y].act; };
  uint32_t slot;
  if (n < K_) {
    slot = uint32_t(n++);
  } else {
    if (a <= top_meta_[base + heap[0]].act) return;
    std::pop_heap(heap, heap + K_, greater);
    slot = heap[K_ - 1];
  }
  capture(top_acts_, top_meta_, base + slot, f, T, s_local, seq, pos, j);
  heap[n - 1] = slot;
  std::push_heap(heap, heap + n, greater);
}

void FeatureAccumulators::offer_reservoir(int64_t j, const float* f, int64_t T, int64_t s_local, int64_t seq,
                                          int32_t pos) {
  const int64_t i = active_[size_t(j)];  // 1-based index of this active token
  size_t slot;
  if (i <= R_) {
    slot = size_t(i - 1);
  } else if (i == res_next_[size_t(j)]) {
    slot = size_t(splitmix64(rng_[size_t(j)]) % uint64_t(R_));
    res_w_[size_t(j)] *= std::exp(std::log(uniform(j)) / R_);
    advance_reservoir(j);
  } else {
    return;
  }
  capture(res_acts_, res_meta_, size_t(j * R_) + slot, f, T, s_local, seq, pos, j);
}

void FeatureAccumulators::scan_block(const float* f, int64_t B, int64_t T, int64_t first_seq, int64_t j0,
                                     int64_t j1) {
  for (int64_t s = 0; s < B; ++s) {
    const int64_t seq = first_seq + s;
    for (int64_t t = 0; t < T; ++t) {
      const float* row = f + (s * T + t) * F_;
      for (int64_t j = j0; j < j1; ++j) {
        const float a = row[j];
        if (!(a > 0)) continue;
        const size_t J = size_t(j);
        ++active_[J];
        sum_[J] += a;
        if (a > max_[J]) max_[J] = a;
        ++hist_[J * kFineBins + size_t(fine_bin(a))];
        if (a > seq_max_[J]) seq_max_[J] = a, seq_pos_[J] = int32_t(t);
        if (R_ > 0 && (active_[J] <= R_ || active_[J] == res_next_[J]))
          offer_reservoir(j, f, T, s, seq, int32_t(t));
      }
    }
    // End of the sequence: its strongest token competes for the top-k, and
    // random contexts drawn inside it are captured.
    const int64_t tok0 = seq * seq_len_;
    for (int64_t j = j0; j < j1; ++j) {
      const size_t J = size_t(j);
      if (K_ > 0 && seq_max_[J] > 0) offer_top(j, f, T, s, seq, seq_pos_[J], seq_max_[J]);
      seq_max_[J] = 0;
      int32_t& r = rand_next_[J];
      while (r < NR_ && rand_at_[J * size_t(NR_) + size_t(r)] < tok0 + T) {
        const int32_t pos = int32_t(rand_at_[J * size_t(NR_) + size_t(r)] - tok0);
        capture(rand_acts_, rand_meta_, J * size_t(NR_) + size_t(r), f, T, s, seq, pos, j);
        ++r;
      }
    }
  }
}

void FeatureAccumulators::count_cooccurrence(const int32_t* strongest, int64_t rows, int64_t j0, int64_t j1) {
  const int m = opt_.cooccur_top, C = opt_.cooccur_slots;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* ids = strongest + r * m;
    for (int a = 0; a < m && ids[a] >= 0; ++a) {
      const int64_t i = ids[a];
      if (i < j0 || i >= j1) continue;
      ++co_tokens_[size_t(i)];
      int32_t* key = &co_key_[size_t(i) * size_t(C)];
      uint32_t* cnt = &co_count_[size_t(i) * size_t(C)];
      for (int b = 0; b < m && ids[b] >= 0; ++b) {
        if (b == a) continue;
        int hit = -1, low = 0;
        for (int c = 0; c < C; ++c) {
          if (key[c] == ids[b] || key[c] < 0) {
            hit = c;
            break;
          }
          if (cnt[c] < cnt[low]) low = c;
        }
        if (hit >= 0) {
          key[hit] = ids[b];
          ++cnt[hit];
        } else {  // space-saving: the rarest counter is taken over, its count an upper bound
          key[low] = ids[b];
          ++cnt[low];
        }
      }
    }
  }
}

void FeatureAccumulators::add_batch(const float* f, int64_t B, int64_t T, int64_t first_seq) {
  const int64_t rows = B * T, blocks = (F_ + kBlock - 1) / kBlock;
  const int m = opt_.cooccur_top;
  if (m > 1) {
    strongest_.assign(size_t(rows * m), -1);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      // The m largest positive activations, kept sorted descending (insertion: m is small).
      const float* row = f + r * F_;
      int32_t* ids = &strongest_[size_t(r * m)];
      float vals[64];
      int n = 0;
      for (int64_t j = 0; j < F_; ++j) {
        const float a = row[j];
        if (!(a > 0) || (n == m && a <= vals[m - 1])) continue;
        int k = n < m ? n++ : m - 1;
        while (k > 0 && vals[k - 1] < a) vals[k] = vals[k - 1], ids[k] = ids[k - 1], --k;
        vals[k] = a, ids[k] = int32_t(j);
      }
    }
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t j0 = b * kBlock, j1 = std::min(F_, j0 + kBlock);
    scan_block(f, B, T, first_seq, j0, j1);
    if (m > 1) count_cooccurrence(strongest_.data(), rows, j0, j1);
  }
}

struct Decoder {
  const std::vector<int32_t>& tokens;
  const std::vector<std::string>& text;
  int seq_len;

  void add(std::vector<ActivationRecord>& out, std::vector<RecordSource>& src, const float* acts,
           const WindowMeta& m) const {
    ActivationRecord r;
    const int64_t tok0 = m.seq * seq_len + m.start;
    for (int32_t i = 0; i < m.len; ++i) r.tokens.push_back(text[size_t(tokens[size_t(tok0 + i)])]);
    r.acts.assign(acts, acts + m.len);
    out.push_back(std::move(r));
    src.push_back({m.seq, m.pos, m.pos - m.start});
  }
};

void FeatureAccumulators::quantile_samples(int64_t j, const Decoder& dec, FeatureExamples& ex,
                                           FeatureDashboard& d) const {
  const size_t J = size_t(j);
  // Quantile bands of the reservoir, highest band first; per_band evenly
  // spaced picks in each, strongest first.
  const int64_t n = std::min<int64_t>(active_[J], R_);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return res_meta_[J * size_t(R_) + size_t(a)].act < res_meta_[J * size_t(R_) + size_t(b)].act;
  });
  const int bands = opt_.quantile_bands;
  for (int b = bands - 1; n > 0 && b >= 0; --b) {
    const int64_t lo = b * n / bands, hi = (b + 1) * n / bands;
    if (hi <= lo) continue;
    QuantileBand qb;
    qb.lo = res_meta_[J * size_t(R_) + size_t(order[size_t(lo)])].act;
    qb.hi = res_meta_[J * size_t(R_) + size_t(order[size_t(hi - 1)])].act;
    qb.q_lo = float(b) / float(bands), qb.q_hi = float(b + 1) / float(bands);
    qb.first = int64_t(ex.quantiles.size());
    const int64_t take = std::min<int64_t>(opt_.per_band, hi - lo);
    for (int64_t k = take - 1; k >= 0; --k) {
      const int64_t i = lo + (2 * k + 1) * (hi - lo) / (2 * take);
      const size_t at = J * size_t(R_) + size_t(order[size_t(i)]);
      dec.add(ex.quantiles, d.quantile_sources, &res_acts_[at * size_t(W_)], res_meta_[at]);
    }
    qb.count = int64_t(ex.quantiles.size()) - qb.first;
    d.quantile_bands.push_back(qb);
  }
}

void FeatureAccumulators::finish(const std::vector<int32_t>& tokens, const std::vector<std::string>& token_text,
                                 std::vector<FeatureExamples>& examples, std::vector<FeatureDashboard>& dash) const {
  examples.assign(size_t(F_), {});
  dash.assign(size_t(F_), {});
  const Decoder dec{tokens, token_text, seq_len_};
  const int C = opt_.cooccur_slots;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t j = 0; j < F_; ++j) {
    const size_t J = size_t(j);
    FeatureExamples& ex = examples[J];
    FeatureDashboard& d = dash[J];
    ex.feature = d.feature = j;
    d.active_tokens = active_[J];
    ex.density = d.density = total_tokens_ ? double(active_[J]) / double(total_tokens_) : 0.0;
    d.max_act = max_[J];
    d.mean_act = active_[J] ? sum_[J] / double(active_[J]) : 0.0;
    d.histogram = rebin_linear(&hist_[J * kFineBins], max_[J], opt_.histogram_bins);

    // Top-k, strongest first.
    std::vector<uint32_t> slots(&top_heap_[J * size_t(K_)], &top_heap_[J * size_t(K_)] + top_size_[J]);
    std::sort(slots.begin(), slots.end(), [&](uint32_t a, uint32_t b) {
      return top_meta_[J * size_t(K_) + a].act > top_meta_[J * size_t(K_) + b].act;
    });
    for (uint32_t s : slots) {
      const size_t at = J * size_t(K_) + s;
      dec.add(ex.top, d.top_sources, &top_acts_[at * size_t(W_)], top_meta_[at]);
    }

    quantile_samples(j, dec, ex, d);

    for (int r = 0; r < rand_next_[J]; ++r) {
      const size_t at = J * size_t(NR_) + size_t(r);
      dec.add(ex.random, d.random_sources, &rand_acts_[at * size_t(W_)], rand_meta_[at]);
    }

    // Co-occurring features, most frequent first.
    std::vector<Cooccurrence> co;
    for (int c = 0; c < C; ++c) {
      const size_t at = J * size_t(C) + size_t(c);
      if (co_key_[at] < 0) break;
      co.push_back({co_key_[at], int64_t(co_count_[at]),
                    co_tokens_[J] ? float(double(co_count_[at]) / double(co_tokens_[J])) : 0.f});
    }
    std::sort(co.begin(), co.end(), [](const Cooccurrence& a, const Cooccurrence& b) {
      return a.count != b.count ? a.count > b.count : a.feature < b.feature;
    });
    if (co.size() > size_t(opt_.cooccurring)) co.resize(size_t(opt_.cooccurring));
    d.cooccurring = std::move(co);
  }
}

}  // namespace glassbox::features::detail
