// A shuffling buffer over any ActivationStream (SAELens' mixing buffer):
// training wants rows in random order, while harvests and live streams come
// in corpus order, sequence by sequence and shard by shard.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "glassbox/features/activations.h"

namespace glassbox::features {

// Holds `buffer_rows` rows read from the source. Each row handed out is drawn
// uniformly at random from the buffer, and its slot refilled with the
// source's next row (once the source is dry, the buffer drains). Every source
// row comes out exactly once per pass over the source; the order depends only
// on the seed and the source's rows, not on how many rows next() is asked
// for, and rewind() replays it. A row waits in the buffer for buffer_rows
// draws on average, so rows of shards buffer_rows apart interleave.
class ShuffleBuffer : public ActivationStream {
 public:
  // Reads `source`, which must outlive the buffer.
  ShuffleBuffer(ActivationStream& source, int64_t buffer_rows, uint64_t seed = 0);
  // Owns `source`.
  ShuffleBuffer(std::unique_ptr<ActivationStream> source, int64_t buffer_rows, uint64_t seed = 0);

  const std::vector<std::string>& site_names() const override { return src_->site_names(); }
  const std::vector<int64_t>& dims() const override { return src_->dims(); }
  int64_t next(ActivationBatch& out, int64_t max_rows) override;
  void rewind() override;

  int64_t buffer_rows() const { return cap_; }
  int64_t buffered() const { return n_; }

 private:
  void stage();                      // the source's next batch into in_, when in_ is used up
  bool take_source_row(int64_t slot);

  std::unique_ptr<ActivationStream> owned_;
  ActivationStream* src_;
  int64_t cap_;
  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<std::vector<float>> rows_;  // per site, [cap_, dim]
  std::vector<int32_t> tokens_;           // [cap_] when the source gives tokens
  bool with_tokens_ = true;
  int64_t n_ = 0;                         // rows held
  bool source_done_ = false;
  ActivationBatch in_;                    // the source's batch being consumed
  int64_t in_at_ = 0;                     // its next row
};

}  // namespace glassbox::features
