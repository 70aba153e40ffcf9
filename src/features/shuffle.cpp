// ShuffleBuffer: random draws from a buffer whose drawn slots the source refills.
#include "glassbox/features/shuffle.h"

#include <algorithm>
#include <cstring>

#include "glassbox/error.h"

namespace glassbox::features {

ShuffleBuffer::ShuffleBuffer(ActivationStream& source, int64_t buffer_rows, uint64_t seed)
    : src_(&source), cap_(buffer_rows), seed_(seed), rng_(seed) {
  if (buffer_rows < 1) fail("shuffle buffer: ", buffer_rows, " rows; it needs at least 1");
  rows_.resize(src_->dims().size());
  for (size_t s = 0; s < rows_.size(); ++s) rows_[s].resize(size_t(cap_ * src_->dims()[s]));
  tokens_.resize(size_t(cap_));
}

ShuffleBuffer::ShuffleBuffer(std::unique_ptr<ActivationStream> source, int64_t buffer_rows, uint64_t seed)
    : ShuffleBuffer(*source, buffer_rows, seed) {
  owned_ = std::move(source);
}

void ShuffleBuffer::rewind() {
  src_->rewind();
  rng_.seed(seed_);
  n_ = 0;
  in_.rows = 0;
  in_at_ = 0;
  source_done_ = false;
  with_tokens_ = true;
}

void ShuffleBuffer::stage() {
  if (in_at_ < in_.rows || source_done_) return;
  const std::vector<int64_t>& dims = src_->dims();
  in_at_ = 0;
  const int64_t k = src_->next(in_, cap_);
  if (k == 0) {
    source_done_ = true;
    in_.rows = 0;
    return;
  }
  if (in_.rows != k || in_.sites.size() != dims.size())
    fail("shuffle buffer: the source returned ", k, " rows but a batch of ", in_.rows, " rows at ", in_.sites.size(),
         " sites");
  for (size_t s = 0; s < dims.size(); ++s)
    if (int64_t(in_.sites[s].size()) != k * dims[s])
      fail("shuffle buffer: the source's site ", s, " has ", in_.sites[s].size(), " values for ", k, " rows of ", dims[s]);
  if (int64_t(in_.tokens.size()) != k) with_tokens_ = false;
}

// Copies the next source row into buffer slot `slot`; false when the source is exhausted.
bool ShuffleBuffer::take_source_row(int64_t slot) {
  stage();
  if (source_done_) return false;
  const std::vector<int64_t>& dims = src_->dims();
  for (size_t s = 0; s < dims.size(); ++s)
    std::memcpy(rows_[s].data() + slot * dims[s], in_.sites[s].data() + in_at_ * dims[s], size_t(dims[s]) * sizeof(float));
  tokens_[size_t(slot)] = with_tokens_ ? in_.tokens[size_t(in_at_)] : 0;
  ++in_at_;
  return true;
}

int64_t ShuffleBuffer::next(ActivationBatch& out, int64_t max_rows) {
  if (max_rows < 1) fail("next: max_rows ", max_rows, " must be at least 1");
  const std::vector<int64_t>& dims = src_->dims();
  while (n_ < cap_ && take_source_row(n_)) ++n_;  // the first fill
  const int64_t k = std::min(max_rows, n_);
  out.sites.resize(dims.size());
  for (size_t s = 0; s < dims.size(); ++s) out.sites[s].resize(size_t(k * dims[s]));
  out.tokens.resize(size_t(k));
  for (int64_t i = 0; i < k; ++i) {
    // Draw a slot, hand its row out, refill the slot with the source's next
    // row (or, once the source is dry, with the buffer's last row).
    const int64_t j = int64_t(rng_() % uint64_t(n_));
    for (size_t s = 0; s < dims.size(); ++s)
      std::memcpy(out.sites[s].data() + i * dims[s], rows_[s].data() + j * dims[s], size_t(dims[s]) * sizeof(float));
    out.tokens[size_t(i)] = tokens_[size_t(j)];
    if (!take_source_row(j)) {
      const int64_t last = --n_;
      if (j != last) {
        for (size_t s = 0; s < dims.size(); ++s)
          std::memcpy(rows_[s].data() + j * dims[s], rows_[s].data() + last * dims[s], size_t(dims[s]) * sizeof(float));
        tokens_[size_t(j)] = tokens_[size_t(last)];
      }
    }
  }
  if (!with_tokens_) out.tokens.clear();
  out.rows = k;
  return k;
}

}  // namespace glassbox::features
